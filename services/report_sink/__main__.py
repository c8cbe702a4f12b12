from services.report_sink.main import main

main()
