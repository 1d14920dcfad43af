from edfs_mcp.cli import main

raise SystemExit(main())
