import json, statistics as st, sys
files=sys.argv[1:] or ['/tmp/prof/old.jsonl','/tmp/prof/main.jsonl']
for f in files:
    rows=[json.loads(l) for l in open(f)]
    n=rows[0]['matched']
    def us(r,p): return r['processes'][p]['cpu_s']/r['matched']*1e6
    procs=sorted(rows[0]['processes'])
    print(f, 'runs',len(rows))
    print('  emails/s', [round(r['emails_per_s']) for r in rows], 'median', round(st.median(r['emails_per_s'] for r in rows)))
    for p in procs:
        v=[us(r,p) for r in rows]; print(f'  {p:16s}', [round(x,1) for x in v], 'median', round(st.median(v),1))
    allb=[sum(us(r,p) for p in procs if p!='esp-simulator') for r in rows]
    print('  all-but-sim', [round(x,1) for x in allb], 'median', round(st.median(allb),1))
    print('  load', [r['machine']['load_average_at_start'][0].__round__(2) for r in rows])
