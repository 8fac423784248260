"""A minimal page with a file uploader, for the HTTP tests of the server configuration."""

import streamlit as st

st.title("Upload probe")
uploaded = st.file_uploader("Transactions file")
if uploaded is not None:
    st.write(f"{len(uploaded.getvalue())} bytes received")
