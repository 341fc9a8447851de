from score_broker.cli import main

raise SystemExit(main())
