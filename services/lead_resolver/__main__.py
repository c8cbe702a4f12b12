from services.lead_resolver.main import main

main()
