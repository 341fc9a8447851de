from score_tui.cli import main

raise SystemExit(main())
