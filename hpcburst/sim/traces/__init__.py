"""The shipped traces (CSV) and the script that makes them."""
