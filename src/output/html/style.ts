/** The report's inline stylesheet: system fonts only, readable at phone width, printable. */
export const REPORT_CSS = `
:root{color-scheme:light;--ink:#1d232a;--muted:#5b6570;--line:#dde2e7;--accent:#4c78a8;--bad:#b42318}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:16px}
header h1{font-size:1.4rem;margin:0 0 4px}
header p{margin:0;color:var(--muted)}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:14px 0}
h2{font-size:1.1rem;margin:0 0 8px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 10px}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.bad{color:var(--bad);font-weight:600}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:.85rem;color:var(--muted);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
.counts{max-width:560px}.counts th{white-space:nowrap}
.prob{position:relative;min-width:110px}
.prob .bar{position:absolute;left:8px;top:5px;height:1.2em;max-width:calc(100% - 16px);background:#c9d9ec;border-radius:2px}
.prob .val{position:relative;font-variant-numeric:tabular-nums}
.conf{font-size:.8rem;padding:1px 6px;border-radius:9px;background:#eee}
.conf.high{background:#d9f2e1}.conf.medium{background:#fdf0c9}.conf.low{background:#eee}
.drv{white-space:nowrap;font-size:.85rem}.drv.up{color:#a11}.drv.down{color:#175c9c}
.note,.files{color:var(--muted);font-size:.9rem}
.scroll{overflow-x:auto}
figure.chart{margin:8px 0;max-width:100%;overflow-x:auto}
figure.chart svg{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.9rem}
.lvl.significant{color:var(--bad);font-weight:600}.lvl.moderate{color:#8a5a00}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:8px}
@media (max-width:600px){main{padding:8px}section{padding:10px}th,td{padding:3px 5px}body{font-size:14px}}
@media print{body{background:#fff}section{border:0;padding:0}}
`;
