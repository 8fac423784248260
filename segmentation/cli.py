"""The command line: the core's steps for batch jobs and scheduled refreshes.

``python -m segmentation COMMAND ...`` (or ``tierlens COMMAND ...`` when the project is
installed). A thin shell: it parses arguments, calls the core, prints what happened and turns
the core's errors into one sentence on stderr with exit code 2; anything else is a bug and
keeps its traceback.

Commands live in a registry: :func:`command` adds one (a name, a help line, a function that
declares its options and a function that runs it), so a new command is one decorated function
and the parser, ``--help`` and the tests pick it up. Output goes to files written atomically
(temp file, then rename), so a job reading them never sees half a file; the result summary is
printed on stdout, progress on long steps on stderr.

Exit codes: 0 done, 2 bad input or settings (a sentence says what to do), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from . import columns as C
from .errors import DataError, RuleError, TierlensError
from .scoring import METHODS, SettingsError

__all__ = ["COMMANDS", "Command", "command", "console", "main"]

PROG = "tierlens"
ENGINES = ("polars", "duckdb", "spark")
OUTPUT_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".xlsx": "Excel"}
# The app's names for the catch-all tier of rules without `else`, so both name it alike.
UNASSIGNED = {"zh": "未分层", "en": "Unassigned"}


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure`` adds its arguments, ``run`` does the work and returns the
    exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Console], int]
    description: str = ""


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, configure: Callable[[argparse.ArgumentParser], None], description: str = ""
) -> Callable[[Callable[[argparse.Namespace, Console], int]], Callable[[argparse.Namespace, Console], int]]:
    """Register the decorated ``run(args, console) -> exit code`` as subcommand ``name``."""

    def register(run: Callable[[argparse.Namespace, Console], int]) -> Callable[[argparse.Namespace, Console], int]:
        COMMANDS[name] = Command(name, help, configure, run, description)
        return run

    return register


class Console:
    """Where a command writes: results to ``out``, progress lines to ``err``."""

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool = False) -> None:
        self.out = out
        self.err = err
        self.quiet = quiet

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Announce a long step and how long it took (stderr, unless quiet)."""
        started = time.perf_counter()
        if not self.quiet:
            print(f"{what} ...", file=self.err, flush=True)
        yield
        if not self.quiet:
            print(f"{what}: done in {time.perf_counter() - started:.1f} s", file=self.err, flush=True)


# --------------------------------------------------------------------------------------------
# Argument types: each failure is a sentence argparse prints after "error: argument ...:"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date; write it as YYYY-MM-DD, for example 2024-06-30"
        ) from None


def _dates(text: str) -> list[dt.date]:
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("give at least one date, for example 2024-03-31,2024-06-30")
    return sorted(set(map(_date, parts)))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return value


def _existing_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"The input file {path} does not exist. Check the path and try again.")
    return path


# --------------------------------------------------------------------------------------------
# Shared steps


def _add_input(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input",
        type=Path,
        metavar="INPUT",
        help="transaction export: CSV/TSV (UTF-8 or GBK), Excel or Parquet, English or Chinese headers",
    )
    parser.add_argument(
        "--date-order",
        choices=("dmy", "mdy"),
        default=None,
        help="how to read dates such as 03/04/2024 when the file does not settle it: "
        "dmy = day first, mdy = month first",
    )


def _add_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=("zh", "en"),
        default="zh",
        help="language of the validation report and of preset tier names (default: zh, as in the app)",
    )


def _load(args: argparse.Namespace, con: Console, *, lang: str) -> tuple[pl.DataFrame, Any]:
    """Load and validate the input; print the validation report's summary."""
    from .ingest import load_transactions

    path = _existing_file(args.input)
    with con.step(f"Reading {path.name}"):
        tx, report = load_transactions(path, date_order=args.date_order)
    for line in report.summary_lines(lang):
        con.say(line)
    return tx, report


def _is_customer_table(exc: DataError) -> bool:
    """Whether a load that found no transaction columns saw the columns of one row per customer.

    The headers come with the error, so the file is not read again to look at them.
    """
    from .customers import detect_kind

    headers = exc.params.get("headers") or []
    return bool(headers) and detect_kind(headers)[0] == "customers"


def _transactions_or_none(args: argparse.Namespace, con: Console) -> tuple[pl.DataFrame, Any] | None:
    """:func:`_load`, or None when the file holds one row per customer (a CRM export), whose
    columns are not those of transactions."""
    try:
        return _load(args, con, lang=args.lang)
    except DataError as exc:
        if exc.code != "missing_columns" or not _is_customer_table(exc):
            raise
    con.say(f"“{args.input.name}” holds one row per customer, not transactions.")
    return None


def _load_customer_level(args: argparse.Namespace, con: Console, path: Path) -> pl.DataFrame:
    """A file of one row per customer (a CRM export) read as the customer table at --as-of."""
    from .customers import load_customers

    with con.step(f"Reading {path.name} as a customer table"):
        customers, report = load_customers(path, as_of=args.as_of, date_order=args.date_order)
    for line in report.summary_lines(args.lang):
        con.say(line)
    return customers


def _check_output(path: Path) -> None:
    """Refuse an output path we cannot write before any work is done."""
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise DataError(f"Tierlens cannot write '{path.name}': name the output file .csv, .parquet or .xlsx.")
    if not path.parent.is_dir():
        raise DataError(f"The folder {path.parent} does not exist. Create it or choose another --out path.")


def _write_table(frame: pl.DataFrame, path: Path) -> None:
    """Write CSV, Parquet or Excel by the file's extension, atomically."""
    _check_output(path)
    suffix = path.suffix.lower()
    # Text formats get plain tier names; the Enum order is a Polars notion.
    plain = frame.with_columns(pl.col(pl.Enum, pl.Categorical).cast(pl.String))
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix == ".csv":
            plain.write_csv(tmp)
        elif suffix == ".parquet":
            frame.write_parquet(tmp)
        else:
            plain.write_excel(tmp, worksheet="tiers", autofit=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# The package each engine other than Polars needs (DuckDB is a dependency of Tierlens itself).
_ENGINE_PACKAGES = {"spark": "pyspark"}


def _check_engine(engine: str) -> None:
    """Refuse an engine whose package is not installed, before any file is read."""
    import importlib.util

    package = _ENGINE_PACKAGES.get(engine)
    if package and importlib.util.find_spec(package) is None:
        raise SettingsError(
            f"The {engine} engine needs the package '{package}', which is not installed; install it "
            f"(pip install 'tierlens[{engine}]') or use --engine polars."
        )


def _customer_table(tx: pl.DataFrame, *, as_of: dt.date | None, window_days: int | None, engine: str) -> pl.DataFrame:
    """``rfm_table`` on the chosen engine (see :func:`_check_engine` for a missing package)."""
    from .rfm import rfm_table

    _check_engine(engine)
    return rfm_table(tx, as_of=as_of, window_days=window_days, engine=engine)


# --------------------------------------------------------------------------------------------
# tiers


def _configure_tiers(p: argparse.ArgumentParser) -> None:
    _add_input(p)
    p.add_argument("--as-of", type=_date, required=True, metavar="DATE",
                   help="the date the tiers are computed at (YYYY-MM-DD); later orders are ignored")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--preset", metavar="NAME",
                       help="a built-in tiering scheme: " + ", ".join(_preset_ids()))
    which.add_argument("--rules", type=Path, metavar="FILE",
                       help="a UTF-8 text file of tier rules, one 'NAME: CONDITION' per line")
    p.add_argument("--bins", type=_positive_int, metavar="N",
                   help="score levels 1..N (default: the preset's, else 5)")
    p.add_argument("--method", choices=METHODS,
                   help="how scores are cut (default: the preset's, else quantile)")
    p.add_argument("--thresholds", metavar="T",
                   help="cut points for --method thresholds, e.g. 'R:30,90;F:2,5;M:100,500'")
    p.add_argument("--window", type=_positive_int, metavar="DAYS",
                   help="only count orders in the DAYS days up to --as-of (default: all history)")
    _add_lang(p)
    p.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="where to write one row per customer: .csv, .parquet or .xlsx")


def _preset_ids() -> list[str]:
    from .presets import PRESETS

    return list(PRESETS)


def _spec(args: argparse.Namespace) -> Any:
    from .presets import get_preset
    from .spec import TieringSpec

    unassigned = UNASSIGNED[args.lang]
    value_order: tuple[str, ...] = ()
    if args.preset is not None:
        preset = get_preset(args.preset)
        rules, bins, method, thresholds = preset.rules_text(args.lang), preset.bins, preset.method, preset.thresholds
        # The app ranks a preset's tiers in its declared value order, not in rule order.
        value_order = preset.value_order(args.lang)
    else:
        path = _existing_rules(args.rules)
        rules, bins, method, thresholds = path, 5, "quantile", None
    if args.bins is not None:
        bins = args.bins
    if args.method is not None:
        method = args.method
    if args.thresholds is not None:
        thresholds = args.thresholds
    if method == "thresholds" and not thresholds:
        raise SettingsError("Scoring by thresholds needs cut points: add --thresholds 'R:30,90;F:2,5;M:100,500'.")
    spec = TieringSpec.of(
        rules, bins=bins, method=method, thresholds=thresholds if method == "thresholds" else None,
        window_days=args.window, unassigned=unassigned, value_order=value_order,
    )
    try:
        spec.ruleset  # noqa: B018 - parse now, so a rule error is reported before the data is read
    except RuleError as exc:
        where = f"the rules file {args.rules}" if args.rules is not None else f"preset {args.preset}"
        raise RuleError(f"In {where}: {exc}", line=exc.line, column=exc.column) from None
    return spec


def _existing_rules(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"The rules file {path} does not exist. Check the path and try again.")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"The rules file {path} is not UTF-8 text. Save it as UTF-8 and try again.") from None


@command(
    "tiers",
    "tier every customer at a date and write one row per customer",
    _configure_tiers,
    "Load a transaction export, score R, F and M at --as-of and assign tiers with a preset or your "
    "rules, exactly as the app does; write customer_id, the RFM columns, the scores and the tier. "
    "A file of one row per customer (a CRM export) is tiered as it is, as of --as-of.",
)
def run_tiers(args: argparse.Namespace, con: Console) -> int:
    from .rules import assign_tiers
    from .scoring import score

    # Settings and output first: a typo should not wait for a large file to load.
    spec = _spec(args)
    _check_output(args.out)
    loaded = _transactions_or_none(args, con)
    tx = loaded[0] if loaded is not None else None
    if tx is None:  # a CRM export of one row per customer: its rows are tiered as they are
        if spec.window_days:
            raise DataError(
                "--window counts orders in a period, and this file holds one row per customer, not "
                "its orders; leave --window out (the customers are tiered as the file describes them)."
            )
        if spec.needs_clv:
            raise DataError(
                "These rules use P_ALIVE or CLV, which are fitted on each customer's orders; this file "
                "holds one row per customer. Use a transaction export, or rules on R, F and M only."
            )
        rfm = _load_customer_level(args, con, args.input)
    else:
        with con.step("Computing the customer table"):
            rfm = _customer_table(tx, as_of=args.as_of, window_days=spec.window_days, engine="polars")
    if rfm.height == 0:
        raise DataError(
            f"No customer bought anything on or before {args.as_of}"
            + (f" in the {spec.window_days} days before it" if spec.window_days else "")
            + "; choose a later --as-of date or a longer --window."
        )
    with con.step("Scoring"):
        scored = score(rfm, bins=spec.bins, method=spec.method, thresholds=spec.thresholds_map)  # type: ignore[arg-type]
    if spec.needs_clv and tx is not None:
        from .clv import score_customers
        from .enrich import RULE_VALUATION, add_clv

        horizon, discount, margin = RULE_VALUATION  # the app's valuation, so both tier alike
        with con.step("Fitting the lifetime-value model for P_ALIVE / CLV rules"):
            fit = score_customers(
                tx, as_of=args.as_of, horizon_days=horizon, discount_rate=discount, margin=margin
            )
        scored = add_clv(scored, fit.frame)
    with con.step("Assigning tiers"):
        tiered = assign_tiers(scored, spec.ruleset).sort(C.CUSTOMER_ID)
    with con.step(f"Writing {args.out}"):
        _write_table(tiered, args.out)
    counts = dict(tiered.group_by(C.TIER).len().iter_rows())
    con.say(f"Tiered {tiered.height:,} customers as of {args.as_of}; wrote {args.out}.")
    for name in spec.tier_order:
        con.say(f"  {name}: {counts.get(name, 0):,}")
    return 0


# --------------------------------------------------------------------------------------------
# customers


def _configure_customers(p: argparse.ArgumentParser) -> None:
    _add_input(p)
    p.add_argument("--engine", choices=ENGINES, default="polars",
                   help="where the per-customer aggregation runs (default: polars, in this process)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--dates", type=_dates, metavar="D1,D2,...",
                      help="comma-separated dates (YYYY-MM-DD): one customer table per date")
    when.add_argument("--as-of", type=_date, metavar="DATE", help="a single date (YYYY-MM-DD)")
    p.add_argument("--window", type=_positive_int, metavar="DAYS",
                   help="only count orders in the DAYS days up to each date (default: all history)")
    _add_lang(p)
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for customers_<date>.parquet files (created if missing)")


@command(
    "customers",
    "write the customer table (one row per customer) at one or more dates",
    _configure_customers,
    "The heavy step only: from transactions to one Parquet file per date with customer_id, "
    "recency_days, frequency, monetary and the other customer columns, ready for the app, "
    "migration between the dates or any other tool.",
)
def run_customers(args: argparse.Namespace, con: Console) -> int:
    dates = args.dates if args.dates is not None else [args.as_of]
    _check_engine(args.engine)  # before reading a large file, not after
    tx, _ = _load(args, con, lang=args.lang)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"The folder {args.out} cannot be created ({exc.strerror}); choose another --out.") from None
    for k, day in enumerate(dates, start=1):
        target = args.out / f"customers_{day.isoformat()}.parquet"
        with con.step(f"[{k}/{len(dates)}] Customer table as of {day} ({args.engine})"):
            table = _customer_table(tx, as_of=day, window_days=args.window, engine=args.engine)
            _write_table(table, target)
        con.say(f"{day}: {table.height:,} customers -> {target}")
    return 0


# --------------------------------------------------------------------------------------------
# backtest


def _configure_backtest(p: argparse.ArgumentParser) -> None:
    _configure_tiers(p)
    p.set_defaults(as_of=None)
    for action in p._actions:
        if action.dest == "as_of":
            action.required = False
            action.help = "the past date T the customers are tiered at (default: the latest T with a full horizon)"
        elif action.dest == "out":
            action.metavar = "PATH"
            action.help = ("a folder for tiers.csv, quality.csv, comparison.csv and backtest.json, "
                           "or a .json file for the JSON document alone")
    p.add_argument("--horizon", type=_positive_int, default=90, metavar="DAYS",
                   help="the window after T: what customers did from T+1 to T+DAYS (default: 90)")
    p.add_argument("--within", choices=("score", "monetary", "clv", "none"), default="score",
                   help="how customers of one tier are ranked against each other (default: score = r+f+m)")


@command(
    "backtest",
    "tier customers at a past date and measure what each tier did next",
    _configure_backtest,
    "Tier the customers at --as-of with a preset or your rules, exactly as the app does, and measure "
    "the --horizon days after it: per tier, customers, buyers, orders and net revenue; how well the "
    "tiers rank next-period revenue (captured value, gap closed, order agreement), beside the "
    "preset's defaults, recency alone and the CLV forecast. For scheduled jobs tracking tier quality.",
)
def run_backtest(args: argparse.Namespace, con: Console) -> int:
    from .backtest import backtest, write_backtest

    spec = _spec(args)
    if args.out.suffix.lower() not in ("", ".json") and not args.out.is_dir():
        raise DataError(f"Tierlens cannot write '{args.out.name}': give a folder, or a file named .json.")
    tx, _ = _load(args, con, lang=args.lang)
    with con.step("Backtesting"):
        result = backtest(tx, spec, as_of=args.as_of, horizon_days=args.horizon, preset=args.preset or None,
                          lang=args.lang, within=args.within)
    with con.step(f"Writing {args.out}"):
        written = write_backtest(result, args.out)
    q = result.current.values

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.1%}"

    con.say(f"Backtest as of {result.as_of}, next {result.horizon_days} days: {int(q['customers'] or 0):,} "
            f"customers tiered.")
    con.say(f"  captured by the top 10% / 20%: {pct(q['captured_10'])} / {pct(q['captured_20'])} "
            f"(perfect hindsight {pct(q['perfect_10'])} / {pct(q['perfect_20'])})")
    gap = q["gap_closed"]
    con.say(f"  gap closed: {'-' if gap is None else f'{gap:.3f}'}; inversions: {int(q['inversions'] or 0)} of "
            f"{int(q['tier_pairs'] or 0)} tier pairs")
    con.say("Wrote " + ", ".join(str(p) for p in written))
    return 0


# --------------------------------------------------------------------------------------------
# refresh, datasets, restore


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=Path, metavar="DIR",
                        help="the store folder (default: env TIERLENS_DB, else data/store)")


def _open_store(args: argparse.Namespace) -> Any:
    from .store import Store

    return Store.open(args.store)


def _configure_refresh(p: argparse.ArgumentParser) -> None:
    _add_input(p)
    p.add_argument("--dataset", required=True, metavar="NAME",
                   help="the stable name; links with dataset=name:NAME show the newest import")
    p.add_argument("--as-of", type=_date, metavar="DATE",
                   help="for a file of one row per customer: the date it describes (default: a date "
                   "column, else a date in the file name, else the day after its latest purchase)")
    _add_lang(p)
    _add_store(p)


@command(
    "refresh",
    "import a file into the store as the newest version of a named data set",
    _configure_refresh,
    "Safe to run while the app is serving: the app keeps showing the previous version until the "
    "new one is completely written, and earlier versions stay restorable.",
)
def run_refresh(args: argparse.Namespace, con: Console) -> int:
    from .customers import load_customer_tables, stored_report

    store = _open_store(args)
    loaded = _transactions_or_none(args, con)
    before = _current(store, args.dataset)
    if loaded is None:
        with con.step(f"Reading {args.input.name} as customer tables"):
            tables, reports = load_customer_tables(args.input, as_of=args.as_of, date_order=args.date_order)
        for line in reports[-1].summary_lines(args.lang):
            con.say(line)
        with con.step(f"Saving into the store at {store.path}"):
            dataset_id = store.save_customers(tables, name=args.dataset, dataset=args.dataset,
                                              report=stored_report(reports), raw=args.input.read_bytes())
    else:
        tx, report = loaded
        with con.step(f"Saving into the store at {store.path}"):
            dataset_id = store.refresh(
                tx, dataset=args.dataset, report=report.to_dict(), raw=args.input.read_bytes()
            )
    count = store.versions(args.dataset.strip()).height
    if dataset_id == before:
        con.say(f"'{args.dataset}' is unchanged: the file holds the same data as its current version ({dataset_id}).")
    else:
        con.say(
            f"'{args.dataset}' now shows {dataset_id} (version {count}); "
            f"links with dataset=name:{args.dataset} open it."
        )
    return 0


def _current(store: Any, name: str) -> str | None:
    try:
        return store.resolve(f"name:{name.strip()}")
    except DataError:
        return None


def _configure_datasets(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="show this named data set's versions")
    _add_store(p)


@command("datasets", "list the named data sets, or one name's versions", _configure_datasets)
def run_datasets(args: argparse.Namespace, con: Console) -> int:
    store = _open_store(args)
    if args.name is None:
        named = store.datasets()
        if named.height == 0:
            con.say("No named data sets yet; create one with: tierlens refresh FILE --dataset NAME")
        for row in named.iter_rows(named=True):
            con.say(f"{row['dataset']}\t{row['id']}\t{row['versions']} version(s)\tupdated {row['updated_at']:%Y-%m-%d %H:%M} UTC")
        return 0
    for row in store.versions(args.name).iter_rows(named=True):
        mark = "*" if row["current"] else " "
        con.say(
            f"{mark} v{row['version']}\t{row['id']}\t{row['added_at']:%Y-%m-%d %H:%M} UTC\t"
            f"{row['rows']:,} rows\t{row['customers']:,} customers\t{row['first_date']} to {row['last_date']}"
            + ("\t(restored)" if row["restored"] else "")
        )
    return 0


def _configure_restore(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the named data set")
    p.add_argument("id", metavar="ID", help="the version's id, as 'tierlens datasets NAME' lists it")
    _add_store(p)


@command("restore", "make an earlier version of a named data set current again", _configure_restore)
def run_restore(args: argparse.Namespace, con: Console) -> int:
    store = _open_store(args)
    store.restore(args.name, args.id)
    con.say(f"'{args.name.strip()}' now shows {args.id} again; links with dataset=name:{args.name.strip()} open it.")
    return 0


# --------------------------------------------------------------------------------------------
# Entry points


class _Parser(argparse.ArgumentParser):
    """argparse, but errors end with a pointer to --help and no usage dump."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}. See '{self.prog} --help'.\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every registered command."""
    parser = _Parser(
        prog=PROG,
        description="Tierlens customer tiering (客户分层) from the command line: tier customers, write "
        "customer tables, and refresh the data sets the app shows.",
        epilog="Run 'tierlens COMMAND --help' for a command's options. Exit codes: 0 done, 2 bad input.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description or cmd.help, parents=[common])
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line; return the exit code (0 done, 2 bad input, 130 interrupted).

    >>> main(["tiers", "missing.csv", "--as-of", "2024-06-30", "--preset", "value3",
    ...       "--out", "tiers.csv"], stderr=sys.stdout)
    tierlens tiers: error: The input file missing.csv does not exist. Check the path and try again.
    2
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already explained
        return int(exc.code or 0)
    con = Console(out, err, quiet=args.quiet)
    try:
        return args._run(args, con)
    except TierlensError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=err, flush=True)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted; nothing half-written was left behind.", file=err, flush=True)
        return 130


def console() -> None:
    """The ``tierlens`` console script."""
    sys.exit(main())
