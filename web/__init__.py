"""The Litestar web application of Owner Vote."""
