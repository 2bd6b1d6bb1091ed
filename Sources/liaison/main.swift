import Foundation
import LiaisonCore

// Entry point: `liaison <command> [flags]`. Exit codes: 0 ok, 1 failed, 2 usage or configuration error.
let arguments = Array(CommandLine.arguments.dropFirst())
let code = await CLI.run(arguments)
exit(code)
