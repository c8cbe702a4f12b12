from services.webhook_ingest.main import main

main()
