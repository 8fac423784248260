"""Column names of the core's frames, in one place.

Transactions (output of ``load_transactions``) and the customer table (``rfm_table`` and every
step after it) use these names; nothing else in the code base spells them out.
"""

from __future__ import annotations

# Transactions
CUSTOMER_ID = "customer_id"
ORDER_DATE = "order_date"
AMOUNT = "amount"
ORDER_ID = "order_id"
QUANTITY = "quantity"
UNIT_PRICE = "unit_price"

# Customer table (rfm_table)
RECENCY = "recency_days"
FREQUENCY = "frequency"
MONETARY = "monetary"
FIRST_PURCHASE = "first_purchase"
LAST_PURCHASE = "last_purchase"
TENURE = "tenure_days"
AOV = "avg_order_value"

# Scores and tiers
R_SCORE = "r_score"
F_SCORE = "f_score"
M_SCORE = "m_score"
TIER = "tier"
# Mid-ranks (1..n, higher is better; ties share their average rank). Computed once per customer
# table by scoring.add_ranks so that re-scoring with other bins is plain arithmetic.
R_RANK = "r_rank"
F_RANK = "f_rank"
M_RANK = "m_rank"

# CLV columns that tier rules may use (added by segmentation.clv)
P_ALIVE = "p_alive"
CLV = "clv"

RFM_AXES = (RECENCY, FREQUENCY, MONETARY)
SCORE_COLUMNS = (R_SCORE, F_SCORE, M_SCORE)
# Lower recency is better; for every other axis, higher is better.
LOWER_IS_BETTER = frozenset({RECENCY})
# The ``tier`` value of rows that total all tiers (KPI trends, migration rates, what-if).
ALL_TIERS = "__all__"
