// GET /dashboard: a live page (no build step, no external assets) that polls /dashboard/data once a second and shows
// backends with queue / KV-cache usage / health, requests per second, spend today and the most recent errors.
import express, { type Request, type Response, type Router } from 'express';

export interface BackendView {
  id: string;
  pool: string;
  kind: string;
  healthy: boolean;
  circuit: string;
  inFlight: number;
  /** Requests waiting in the engine (vLLM num_requests_waiting), when scraped. */
  queue: number | null;
  /** KV-cache usage 0..1, when scraped. */
  kvUsage: number | null;
}

export interface DashboardData {
  time: string;
  requestsPerSecond: number;
  spendTodayUsd: number;
  backends: BackendView[];
  recentErrors: Array<{ at: string; requestId: string; status: number | string; message: string }>;
}

export function dashboardRouter(data: () => DashboardData): Router {
  const router = express.Router();
  router.get('/dashboard', (_request: Request, response: Response) => {
    response.type('html').set('cache-control', 'no-store').send(PAGE);
  });
  router.get('/dashboard/data', (_request: Request, response: Response) => {
    response.set('cache-control', 'no-store').json(data());
  });
  return router;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24;background:#f6f8fa}
h1{font-size:20px;margin:0 0 16px}.cards{display:flex;gap:16px;margin-bottom:20px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;min-width:160px}
.card .value{font-size:24px;font-weight:600}table{border-collapse:collapse;background:#fff;width:100%;margin-bottom:20px}
th,td{border:1px solid #d0d7de;padding:6px 10px;text-align:left}.bad{color:#cf222e}.ok{color:#1a7f37}
#status{color:#57606a;font-size:12px}
</style></head>
<body>
<h1>Switchyard router</h1>
<div class="cards">
  <div class="card"><div>Requests/s</div><div class="value" id="rps">–</div></div>
  <div class="card"><div>Spend today</div><div class="value" id="spend">–</div></div>
  <div class="card"><div>Backends healthy</div><div class="value" id="healthy">–</div></div>
</div>
<h2>Backends</h2>
<table><thead><tr><th>backend</th><th>pool</th><th>kind</th><th>health</th><th>circuit</th><th>in flight</th><th>queue</th><th>KV cache</th></tr></thead>
<tbody id="backends"></tbody></table>
<h2>Recent errors</h2>
<table><thead><tr><th>time</th><th>request</th><th>status</th><th>message</th></tr></thead><tbody id="errors"></tbody></table>
<div id="status">loading…</div>
<script>
const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; };
const row = (cells) => { const tr = document.createElement('tr'); cells.forEach((c) => tr.appendChild(c)); return tr; };
async function refresh() {
  try {
    const response = await fetch('dashboard/data', { cache: 'no-store' });
    const data = await response.json();
    document.getElementById('rps').textContent = data.requestsPerSecond.toFixed(1);
    document.getElementById('spend').textContent = '$' + data.spendTodayUsd.toFixed(6);
    document.getElementById('healthy').textContent = data.backends.filter((b) => b.healthy).length + ' / ' + data.backends.length;
    document.getElementById('backends').replaceChildren(...data.backends.map((b) => row([
      cell(b.id), cell(b.pool), cell(b.kind), cell(b.healthy ? 'healthy' : 'down', b.healthy ? 'ok' : 'bad'), cell(b.circuit),
      cell(String(b.inFlight)), cell(b.queue === null ? '–' : String(b.queue)),
      cell(b.kvUsage === null ? '–' : (b.kvUsage * 100).toFixed(1) + '%')])));
    document.getElementById('errors').replaceChildren(...data.recentErrors.map((e) => row([
      cell(e.at), cell(e.requestId), cell(String(e.status), 'bad'), cell(e.message)])));
    document.getElementById('status').textContent = 'updated ' + data.time;
  } catch (error) {
    document.getElementById('status').textContent = 'update failed: ' + error;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body></html>`;
