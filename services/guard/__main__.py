from services.guard.main import main

main()
