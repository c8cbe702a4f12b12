from services.campaign_api.main import main

main()
