"""Static HTML pages for the conditions: readable evidence summaries carrying their markup."""
