"""Neo4j access for policykg: the ontology, the schema, the Cypher, the writer and reader."""
