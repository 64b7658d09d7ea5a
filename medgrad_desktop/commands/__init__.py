"""One module per `medgrad` subcommand; each defines `add_parser(subparsers)`."""
