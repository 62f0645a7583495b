from migrex.cli import main

main()
