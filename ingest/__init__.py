"""Loading documents and extracting typed records from them; never touches the database."""
