from voxlens.cli import main

main()
