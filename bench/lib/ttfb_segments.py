#!/usr/bin/env python3
"""Splits streamed requests' time to first byte into parts, from a `perf script` of raw_syscalls (bench/ttfb-trace.sh).

  ttfb_segments.py PERF_TEXT PROXY_PID CLIENT_PID SIM_PIDS [LABEL]    (SIM_PIDS: comma separated)

Requests go one at a time, so the order of the sends tells each part apart without knowing descriptors:
the client's send starts a request; the proxy's next send is the request to the backend; the simulator's
first send after it is the response head and its second the first event; the proxy's first send after each
of those is its relay of it (a proxy that sends the head with the first event relays both at once).
Prints percentiles (µs) of each part over the requests traced.
"""
import re
import sys

SENDS = {1, 20, 44, 46}  # write, writev, sendto, sendmsg
LINE = re.compile(r'\s*(\S+)\s+(\d+)/(\d+)\s+\[\d+\]\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit): NR (\d+)')


def sends(path, proxy, client, sims):
    """(time µs, who) of each send that returned, in order; who is client, proxy or sim."""
    entered, out = {}, []
    for line in open(path, errors='replace'):
        m = LINE.match(line)
        if not m:
            continue
        comm, pid, tid, t, kind, nr = m.groups()
        if kind == 'enter':
            entered[tid] = int(nr)
            continue
        if entered.pop(tid, None) not in SENDS:
            continue
        who = 'client' if pid == client else 'proxy' if pid == proxy else 'sim' if pid in sims else None
        if who:
            out.append((float(t) * 1e6, who))
    return out


def requests(events):
    reqs, cur = [], None
    for t, who in events:
        if who == 'client':
            cur = {'start': t, 'up': None, 'sim': [], 'proxy': []}
            reqs.append(cur)
        elif cur is None:
            continue
        elif who == 'proxy' and cur['up'] is None:
            cur['up'] = t
        elif who == 'sim' and cur['up'] is not None:
            cur['sim'].append(t)
        elif who == 'proxy':
            cur['proxy'].append(t)
    # The first and last may be cut by the window.
    return [r for r in reqs[1:-1] if r['up'] is not None and len(r['sim']) >= 2 and r['proxy']]


def after(times, t):
    return next((x for x in times if x > t), None)


def main():
    path, proxy, client = sys.argv[1], sys.argv[2], sys.argv[3]
    sims = set(sys.argv[4].split(','))
    label = sys.argv[5] if len(sys.argv) > 5 else 'proxy'
    reqs = requests(sends(path, proxy, client, sims))
    if not reqs:
        sys.exit(f'no whole request in {path} (is the window long enough?)')
    parts = {
        f'{label}: request in, request out': [],
        'simulator: request to head': [],
        f'{label}: head in, head out': [],
        'simulator: head to first event': [],
        f'{label}: first event in, first event out': [],
        'client send to first event out': [],
    }
    names = list(parts)
    for r in reqs:
        head_out = after(r['proxy'], r['sim'][0])
        first_out = after(r['proxy'], r['sim'][1])
        if head_out is None or first_out is None:
            continue
        for name, value in zip(names, (r['up'] - r['start'], r['sim'][0] - r['up'], head_out - r['sim'][0],
                                       r['sim'][1] - r['sim'][0], first_out - r['sim'][1], first_out - r['start'])):
            parts[name].append(value)
    n = len(parts[names[0]])
    print(f'{label}: {n} requests traced; µs per part (p25 / p50 / p75 / p90)')
    for name, values in parts.items():
        v = sorted(values)
        q = lambda p: v[min(len(v) - 1, int(len(v) * p))]
        print(f'  {name:42} {q(0.25):7.0f} {q(0.5):7.0f} {q(0.75):7.0f} {q(0.9):7.0f}')


if __name__ == '__main__':
    main()
