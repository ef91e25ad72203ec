"""``swy``: the Switchyard API from a terminal, on the typed client ``switchyard_client``."""
