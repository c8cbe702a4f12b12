"""ESP adapters: one module per provider behind the `EmailProvider` interface."""
