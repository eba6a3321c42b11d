from afas_tray.cli import main

raise SystemExit(main())
