"""Cryptographic building blocks of Owner Vote, free of web and database imports."""
