"""The HTTP API's contract: the route table, the answer models, and the OpenAPI document built from them."""
