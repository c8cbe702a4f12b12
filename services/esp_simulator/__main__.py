from services.esp_simulator.main import main

main()
