#!/usr/bin/env node
// The `lamina` CLI. Sources are TypeScript, run through tsx's loader (no build step).
//
// TensorFlow's native library prints its own start-up lines on stderr (the absl "All log messages
// before absl::InitializeLog()" notice, the oneDNN notice on Intel CPUs, CPU-feature notes), some
// of which ignore TF_CPP_MIN_LOG_LEVEL. So, unless `--verbose` (or LAMINA_VERBOSE=1) asks for them,
// this bin re-executes itself as a child with TF_CPP_MIN_LOG_LEVEL=3 and drops those lines from
// the child's stderr; everything else passes through unchanged, and the child's exit code is ours.
//
// Signals: a terminal delivers Ctrl-C (SIGINT) and SIGHUP to the whole foreground process group,
// child included, so those are forwarded only when no standard stream is a terminal (a scheduler,
// a test, `kill <pid>`); SIGTERM, which terminals never send, is always forwarded. If this process
// dies (kill -9), the child sees its IPC channel close and kills itself the same way.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD_ENV = 'LAMINA_CLI_CHILD';
const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
const head = dashdash < 0 ? argv : argv.slice(0, dashdash);
const tail = dashdash < 0 ? [] : argv.slice(dashdash);
const verbose = head.includes('--verbose') || process.env.LAMINA_VERBOSE === '1';
const isChild = process.env[CHILD_ENV] === '1';

/** A line TensorFlow's C++ logging wrote (absl or the older TF format), or its known continuations. */
const TF_LINE = [
  /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR/,
  /^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-/]+:\d+\] /,
  /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w.\-/]+:\d+\] /,
  /^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.$/,
];
const isTfLine = (l) => TF_LINE.some((re) => re.test(l));
/** A partial line that may still become one of TensorFlow's (held back until its newline). */
const mayBeTfLine = (l) => l.length < 8 || /^(?:[IWEF]\d|\d|WARNING: All|To enable)/.test(l);

if (isChild || verbose) {
  if (isChild) {
    delete process.env[CHILD_ENV]; // processes this one starts are not children of the bin
    if (process.channel) {
      process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
      process.channel.unref();
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main([...head.filter((a) => a !== '--verbose'), ...tail]);
} else {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...argv], {
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1', TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '3' },
  });
  const dropped = [];
  let partial = '';
  let timer;
  const emit = (line) => {
    if (isTfLine(line)) {
      dropped.push(line);
      if (dropped.length > 5) dropped.shift();
    } else process.stderr.write(`${line}\n`);
  };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) emit(l);
    clearTimeout(timer);
    // a partial line (no newline yet) is shown after a moment rather than held back
    if (partial !== '')
      timer = setTimeout(() => {
        if (partial !== '' && !mayBeTfLine(partial)) {
          process.stderr.write(partial);
          partial = '';
        }
      }, 200);
  });
  const interactive = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
  const forward = (sig) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGQUIT']) process.on(sig, interactive ? () => {} : forward(sig));
  process.on('SIGTERM', forward('SIGTERM'));
  child.on('error', (e) => {
    process.stderr.write(`lamina: cannot start: ${e.message}\n`);
    process.exitCode = 1;
  });
  child.on('close', (code, signal) => {
    clearTimeout(timer);
    if (partial !== '') emit(partial);
    if (signal) {
      // the child died of a signal: say so in one line (with TensorFlow's last fatal line, if any)
      const fatal = dropped.filter((l) => /^[EF]\d{4}|: [EF] /.test(l)).pop();
      if (signal !== 'SIGKILL' && signal !== 'SIGINT' && signal !== 'SIGTERM')
        process.stderr.write(`lamina: stopped by ${signal}${fatal ? `: ${fatal.replace(/^.*?\] /, '')}` : ''} (run with --verbose for TensorFlow's messages)\n`);
      process.exitCode = 128 + ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 }[signal] ?? 0);
    } else process.exitCode = code ?? 1;
  });
}
