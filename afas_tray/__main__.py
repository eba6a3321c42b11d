from afas_tray.cli.main import main

raise SystemExit(main())
