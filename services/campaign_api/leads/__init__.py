"""Leads: field rules, streaming parsers and the bulk importer."""
