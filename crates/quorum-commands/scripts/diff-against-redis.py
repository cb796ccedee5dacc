#!/usr/bin/env python3
"""Replays the reply tables of crates/quorum-commands/tests/*.rs against a real Redis 7.0
and prints every line whose reply differs from the table's expectation.

Usage: redis-server --port 7399 --save '' & ; python3 diff-against-redis.py [PORT]

Tables that contain a directive line (`@now`, `@local`) are skipped: they depend on the
harness clock or on orderings quorum chooses differently (KEYS, SCAN, RANDOMKEY). This is a
development aid, not part of CI (CI has no Redis server).
"""
import glob
import os
import re
import socket
import sys

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 7399
HERE = os.path.dirname(os.path.abspath(__file__))
STR = r'"((?:[^"\\]|\\.)*)"'
CASE = re.compile(r'\(\s*' + STR + r'\s*,\s*' + STR + r'\s*,?\s*\)', re.S)


def unescape(s):
    return re.sub(r'\\(.)', r'\1', s)


def tokenize(line):
    args, i = [], 0
    while i < len(line):
        if line[i] == ' ':
            i += 1
            continue
        arg = ''
        if line[i] == '"':
            i += 1
            while i < len(line) and line[i] != '"':
                if line[i] == '\\':
                    i += 1
                arg += line[i]
                i += 1
            i += 1
        else:
            while i < len(line) and line[i] != ' ':
                arg += line[i]
                i += 1
        args.append(arg)
    return args


class Conn:
    def __init__(self):
        self.s = socket.create_connection(('127.0.0.1', PORT))
        self.f = self.s.makefile('rb')

    def call(self, args):
        out = b'*%d\r\n' % len(args)
        for a in args:
            a = a.encode()
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        self.s.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()[:-2].decode('utf-8', 'replace')
        t, rest = line[0], line[1:]
        if t in '+-:':
            return t + rest
        if t == '$':
            n = int(rest)
            if n < 0:
                return 'nil'
            return '$' + self.f.read(n + 2)[:-2].decode('utf-8', 'replace')
        if t == '*':
            n = int(rest)
            if n < 0:
                return 'nil*'
            return '[' + ', '.join(self.read() for _ in range(n)) + ']'
        raise ValueError(line)


def main():
    conn = Conn()
    diffs = checked = 0
    for path in sorted(glob.glob(os.path.join(HERE, '..', 'tests', '*.rs'))):
        text = open(path).read()
        for block in re.findall(r'check\(&\[(.*?)\]\);', text, re.S):
            cases = [(unescape(a), unescape(b)) for a, b in CASE.findall(block)]
            if any(line.startswith('@') for line, _ in cases):
                continue
            conn.call(['FLUSHALL'])
            for line, expected in cases:
                got = conn.call(tokenize(line))
                checked += 1
                if got != expected:
                    diffs += 1
                    print(f'{os.path.basename(path)}: {line}\n  table: {expected}\n  redis: {got}')
    print(f'{checked} lines checked, {diffs} differ')


main()
