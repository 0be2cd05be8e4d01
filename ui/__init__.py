"""Streamlit glue shared by the pages: cached resources and the visitor's active model.

All real work lives in ``mnist_cnn``; this package only adapts it to Streamlit's caching and
session state.
"""
