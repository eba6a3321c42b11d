import sys

if sys.argv[1:2] == ["call"]:
    # The hand-off of a ringing call: straight to the small module, before anything else loads.
    from afas_tray.cli.call import cmd_call

    raise SystemExit(cmd_call(sys.argv[2:]))

from afas_tray.cli.main import main

raise SystemExit(main())
