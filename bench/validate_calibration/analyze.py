# analyze.py — per-candidate figures for docs/VALIDATION.md from the --json
# outputs that bench/validate_calibration/run.sh writes in the current
# directory (NAME.json); ΔCE is a token's CE minus the same token's CE of
# the reference against itself. Writes the gnuplot inputs hist_*.dat, dcdf_*.dat.
import json, math, sys
names=["self","f16","q8_0","q4_K_M","q4_0","q3_K_M","q2_K","p2s4","p0s4","perturb2"]
def load(n):
    d=json.load(open(n+".json")); return d
def pct(xs,p):
    s=sorted(xs); k=max(0,math.ceil(p/100*len(s))-1); return s[k]
self_ce=[c['ce'] for c in load("self")['cases']]
rows={}
for n in names:
    d=load(n); ce=[];dce=[];cf={}; am=0; nt=0
    for i,c in enumerate(d['cases']):
        ce+=c['ce']; dce+=[a-b for a,b in zip(c['ce'],self_ce[i])]; am+=c['argmax_match']; nt+=c['tokens']
        for X in (2.5,3.046):
            fr=sum(1 for v in c['ce'] if not v<X)/len(c['ce']); cf[X]=cf.get(X,0)+(fr>0.1)
        for D in (0.1,0.25):
            fr=sum(1 for v in dce[-len(c['ce']):] if not v<D)/len(c['ce']); cf[('d',D)]=cf.get(('d',D),0)+(fr>0.1)
        cf[('am',0.9)]=cf.get(('am',0.9),0)+(c['argmax_match']/c['tokens']<0.9)
    rows[n]=ce
    print(f"| {n} | {100*am/nt:.1f} % | {sum(ce)/len(ce):.3f} | {pct(ce,99):.3f} | {max(ce):.3f} | {100*sum(v>=2.5 for v in ce)/len(ce):.1f} % | {100*sum(v>=3.046 for v in ce)/len(ce):.1f} % | {cf[3.046]}/12 | {cf[2.5]}/12 | {sum(dce)/len(dce):+.4f} | {pct(dce,99):.3f} | {max(dce):.3f} | {100*sum(v>=0.1 for v in dce)/len(dce):.1f} % | {cf[('d',0.1)]}/12 | {cf[('am',0.9)]}/12 |")
json.dump(rows,open("ce_all.json","w"))
# histogram data for gnuplot
bw=0.25
for n in names:
    ce=rows[n]; h={}
    for v in ce: b=min(int(v/bw),39); h[b]=h.get(b,0)+1
    with open(f"hist_{n}.dat","w") as f:
        for b in range(0,40): f.write(f"{b*bw+bw/2:.3f} {h.get(b,0)/len(ce):.5f}\n")
# ΔCE cumulative distributions for the right panel
for n in names:
    d = sorted(a - b for a, b in zip(rows[n], rows["self"]))
    with open(f"dcdf_{n}.dat", "w") as f:
        for i, v in enumerate(d): f.write(f"{v:.5f} {(i+1)/len(d):.5f}\n")
