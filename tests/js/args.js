// Shared by the peer scripts: --name value arguments, one JSON line out, and a hard deadline
// (every script ends by itself; the .NET test also kills it by PID).
"use strict";

/** Parses "--name value" pairs; repeated names collect into arrays. */
function parseArgs(argv) {
    const args = {};
    for (let i = 0; i < argv.length; i += 2) {
        const name = argv[i].replace(/^--/, "");
        const value = argv[i + 1];
        args[name] = name in args ? [].concat(args[name], value) : value;
    }
    return args;
}

/** Prints one JSON line and exits with 0 (ok) or 1. */
function finish(result) {
    process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(result.ok ? 0 : 1));
}

/** Ends the script with {ok:false, error:"timeout ..."} after ms milliseconds. */
function deadline(ms, what) {
    setTimeout(() => finish({ ok: false, error: `timeout after ${ms} ms: ${what}` }), ms).unref();
}

module.exports = { parseArgs, finish, deadline };
