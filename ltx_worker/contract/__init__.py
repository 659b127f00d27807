"""The job contract: input validation (version 1 and 2) and the output shape."""
