import { useState } from 'react';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Button } from '@/components/ui/button';
import { Badge } from '@/components/ui/badge';
import { Progress } from '@/components/ui/progress';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { Input } from '@/components/ui/input';
import { Activity, CheckCircle2, Plug, RefreshCw, Info } from 'lucide-react';

// props come from ui/chat/elements/props.py dashboard(); every button goes through
// callAction into ui/chat/elements/actions.py, which checks the caller's role again

// colours inline: Chainlit's stylesheet holds only the Tailwind classes its own code uses
const HEALTH = { healthy: '#16a34a', warning: '#f59e0b', critical: '#dc2626' };
const SEVERITY = { info: 'secondary', warning: 'outline', error: 'destructive', critical: 'destructive' };

function when(moment) {
  return moment ? new Date(moment).toLocaleString() : 'never';
}

async function act(name, payload, setNote) {
  setNote({ text: 'Working…' });
  const res = await callAction({ name, payload });
  const reply = (res && res.response) || {};
  if (reply.ok === false) {
    setNote({ error: true, text: reply.error.message });
    return null;
  }
  if (reply.props) updateElement(reply.props);
  return reply;
}

function HealthChart({ history }) {
  // a small SVG: the day's health score as a line (0-100), the day's sync success rate
  // as a dashed line, error logs per day as bars (scaled to the busiest day)
  const w = 420, h = 120, pad = 20;
  const n = history.length || 1;
  const step = (w - 2 * pad) / n;
  const most = Math.max(1, ...history.map((d) => d.errors));
  const x = (i) => pad + i * step + step / 2;
  const y = (fraction) => h - pad - fraction * (h - 2 * pad);
  const line = (value) => history
    .map((d, i) => (value(d) === null || value(d) === undefined ? null : `${x(i)},${y(value(d))}`))
    .filter(Boolean).join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} className="w-full h-32" role="img"
         aria-label="health score, sync success and error logs over the last days"
         data-testid="health-chart">
      {[0, 50, 100].map((mark) => (
        <g key={mark}>
          <line x1={pad} x2={w - pad} y1={y(mark / 100)} y2={y(mark / 100)}
                stroke="currentColor" opacity="0.1" />
          <text x={pad - 4} y={y(mark / 100) + 3} textAnchor="end" fill="currentColor"
                fontSize="8" opacity="0.5">{mark}</text>
        </g>
      ))}
      {history.map((d, i) => {
        const bar = (d.errors / most) * (h - 2 * pad);
        return (
          <g key={d.day}>
            <rect x={pad + i * step + 4} y={h - pad - bar} width={step - 8} height={bar}
                  fill="#f87171" opacity="0.6"><title>{`${d.day}: ${d.errors} error logs`}</title></rect>
            <text x={x(i)} y={h - 4} textAnchor="middle"
                  fill="currentColor" fontSize="9" opacity="0.6">{d.day.slice(5)}</text>
          </g>
        );
      })}
      <polyline points={line((d) => d.success_rate)} fill="none" strokeWidth="1.5"
                stroke="#a3a3a3" strokeDasharray="4 3" />
      <polyline points={line((d) => (d.score === null ? null : d.score / 100))} fill="none"
                strokeWidth="2.5" stroke="#60a5fa" data-testid="score-line" />
      {history.map((d, i) => (d.score === null ? null : (
        <circle key={`s${d.day}`} cx={x(i)} cy={y(d.score / 100)} r="3" fill="#60a5fa"
                data-testid="score-point">
          <title>{`${d.day}: health ${d.score}/100 (lowest ${d.lowest})`}</title>
        </circle>
      )))}
    </svg>
  );
}

function IntegrationCard({ card, can, setNote, setDetails }) {
  const used = card.usage_fraction === null ? 0 : Math.min(100, card.usage_fraction * 100);
  return (
    <Card data-testid="integration-card" className="flex flex-col">
      <CardHeader className="pb-2">
        <div className="flex items-center justify-between gap-2">
          <CardTitle className="text-base">{card.name}</CardTitle>
          <Badge variant={card.status === 'active' ? 'default' : 'destructive'}>{card.status}</Badge>
        </div>
        <div className="flex items-center gap-2 text-sm text-muted-foreground">
          <span className="inline-block h-2 w-2 rounded-full" style={{ background: HEALTH[card.health] || '#888' }} />
          <span data-testid="card-score">{card.health_score}</span>/100 · {card.health}
        </div>
      </CardHeader>
      <CardContent className="flex flex-col gap-2 text-sm">
        <div>
          <div className="flex justify-between text-xs text-muted-foreground">
            <span>API calls today</span>
            <span>{card.api_calls_today}{card.api_calls_limit ? ` / ${card.api_calls_limit}` : ' (no limit)'}</span>
          </div>
          <Progress value={used} className="h-2" />
        </div>
        {card.reasons.length > 0 && (
          <ul className="text-xs text-muted-foreground list-disc pl-4">
            {card.reasons.map((r) => <li key={r}>{r}</li>)}
          </ul>
        )}
        <div className="flex flex-wrap gap-1 pt-1">
          <Button size="sm" variant="outline" disabled={!can.test}
                  onClick={async () => {
                    const reply = await act('test_connection', { integration_id: card.id }, setNote);
                    if (reply) setNote({ error: !reply.report.ok, text: `${card.name}: ${reply.report.message}` });
                  }}>
            <Plug className="h-3 w-3 mr-1" />Test
          </Button>
          <Button size="sm" variant="outline" disabled={!can.sync}
                  onClick={async () => {
                    const reply = await act('sync_now', { integration_id: card.id }, setNote);
                    if (reply) setNote({ text: 'Confirm the sync in the chat.' });
                  }}>
            <RefreshCw className="h-3 w-3 mr-1" />Sync now
          </Button>
          <Button size="sm" variant="ghost"
                  onClick={async () => {
                    const reply = await act('integration_details', { integration_id: card.id }, setNote);
                    if (reply) { setDetails(reply.details); setNote(null); }
                  }}>
            <Info className="h-3 w-3 mr-1" />Details
          </Button>
        </div>
      </CardContent>
    </Card>
  );
}

function LogRow({ log, can, setNote }) {
  const [note, setText] = useState('');
  return (
    <div data-testid="health-log" className="flex flex-col gap-1 border-b py-2 text-sm">
      <div className="flex items-center gap-2">
        <Badge variant={SEVERITY[log.severity] || 'secondary'}>{log.severity}</Badge>
        <span className="font-medium">{log.integration || 'Connectus'}</span>
        <span className="text-xs text-muted-foreground">{log.category} · {when(log.created_at)}</span>
        {log.resolved && <CheckCircle2 className="h-4 w-4" style={{ color: HEALTH.healthy }} />}
      </div>
      <div>{log.message}</div>
      {log.resolved ? (
        <div className="text-xs text-muted-foreground">Resolved: {log.resolution}</div>
      ) : can.resolve && (
        <div className="flex gap-2">
          <Input value={note} placeholder="What was done about it" className="h-8"
                 onChange={(e) => setText(e.target.value)} />
          <Button size="sm" disabled={!note.trim()}
                  onClick={() => act('resolve_log', { log_id: log.id, note }, setNote)
                    .then((r) => r && setNote({ text: 'Resolved.' }))}>Resolve</Button>
        </div>
      )}
    </div>
  );
}

export default function Dashboard() {
  const [note, setNote] = useState(null);
  const [details, setDetails] = useState(null);
  const s = props.summary;
  const usage = s.api_calls_limit ? Math.min(100, (s.api_calls_today / s.api_calls_limit) * 100) : 0;
  return (
    <div className="flex flex-col gap-3 w-full" data-testid="dashboard">
      <div className="grid grid-cols-2 gap-3">
        <Card>
          <CardContent className="pt-4">
            <div className="text-xs text-muted-foreground">Overall health</div>
            <div className="text-3xl font-semibold" data-testid="overall-score">{s.overall_score}</div>
            <div className="text-xs">{s.health} · {s.integrations} integrations ·
              {' '}{s.by_health.healthy} healthy, {s.by_health.warning} warning, {s.by_health.critical} critical</div>
          </CardContent>
        </Card>
        <Card>
          <CardContent className="pt-4 flex flex-col gap-1">
            <div className="text-xs text-muted-foreground">API usage today</div>
            <div className="text-xl font-semibold">{s.api_calls_today}
              <span className="text-sm font-normal"> / {s.api_calls_limit || 'no known limit'}</span></div>
            <Progress value={usage} className="h-2" />
            {s.near_limit.length > 0 && <div className="text-xs" style={{ color: HEALTH.warning }}>Near limit: {s.near_limit.join(', ')}</div>}
          </CardContent>
        </Card>
      </div>
      {note && (
        <div className="text-sm rounded-md px-3 py-2 bg-muted" style={note.error ? { color: '#dc2626' } : {}}
             data-testid="dashboard-note">{note.text}</div>
      )}
      {details && (
        <Card>
          <CardContent className="pt-4 text-sm grid grid-cols-2 gap-1">
            <div className="col-span-2 flex justify-between font-medium">{details.name}
              <Button size="sm" variant="ghost" onClick={() => setDetails(null)}>Close</Button></div>
            <span className="text-muted-foreground">Provider</span><span>{details.provider}</span>
            <span className="text-muted-foreground">Credential</span><span>{details.credential_hint || 'none'}</span>
            <span className="text-muted-foreground">Last sync</span><span>{when(details.last_sync_at)}</span>
            <span className="text-muted-foreground">Last error</span><span>{details.last_error || 'none'}</span>
            <span className="text-muted-foreground">Webhooks to</span><span>{details.webhook_path}</span>
          </CardContent>
        </Card>
      )}
      <Tabs defaultValue="integrations">
        <TabsList>
          <TabsTrigger value="integrations">Integrations</TabsTrigger>
          <TabsTrigger value="flows">Data Flows</TabsTrigger>
          <TabsTrigger value="workflows">Workflows</TabsTrigger>
          <TabsTrigger value="logs">Health Logs</TabsTrigger>
        </TabsList>
        <TabsContent value="integrations" className="flex flex-col gap-3">
          <div className="flex gap-2">
            <Button size="sm" variant="outline" onClick={() => callAction({ name: 'open_provider_browser', payload: {} })}>Add integration</Button>
            <Button size="sm" variant="ghost" onClick={() => act('dashboard_refresh', {}, setNote).then((r) => r && setNote(null))}>
              <RefreshCw className="h-3 w-3 mr-1" />Refresh</Button>
          </div>
          <div className="grid grid-cols-2 gap-3">
            {props.integrations.map((card) => (
              <IntegrationCard key={card.id} card={card} can={props.can} setNote={setNote} setDetails={setDetails} />
            ))}
          </div>
          <Card>
            <CardHeader className="pb-0"><CardTitle className="text-sm flex items-center gap-1">
              <Activity className="h-4 w-4" />Health score (blue), sync success (dashed) and error logs (bars), last {props.history.length} days</CardTitle></CardHeader>
            <CardContent><HealthChart history={props.history} /></CardContent>
          </Card>
        </TabsContent>
        <TabsContent value="flows">
          {props.data_flows.map((f) => (
            <div key={f.id} data-testid="data-flow" className="flex items-center justify-between border-b py-2 text-sm">
              <div><div className="font-medium">{f.name}</div>
                <div className="text-xs text-muted-foreground">{f.integration} · {f.direction} · {f.stream} · {f.sync_frequency} · {f.records_processed} records, {f.records_failed} failed · last run {when(f.last_run_at)}</div></div>
              <div className="flex items-center gap-2"><Badge variant="outline">{f.status}</Badge>
                <Button size="sm" variant="outline" onClick={() => callAction({ name: 'open_mapping', payload: { flow_id: f.id } })}>Mapping</Button></div>
            </div>
          ))}
          {props.data_flows.length === 0 && <div className="text-sm text-muted-foreground py-2">No data flows yet.</div>}
        </TabsContent>
        <TabsContent value="workflows">
          <Button size="sm" variant="outline" className="mb-2" onClick={() => callAction({ name: 'open_workflow_builder', payload: {} })}>New workflow</Button>
          {props.workflows.map((w) => (
            <div key={w.id} data-testid="workflow" className="flex items-center justify-between border-b py-2 text-sm">
              <div><div className="font-medium">{w.name}</div>
                <div className="text-xs text-muted-foreground">{w.integration} · {w.trigger_type} · {w.success_count}/{w.execution_count} runs succeeded · last {when(w.last_run_at)}</div></div>
              <Badge variant="outline">{w.status}</Badge>
            </div>
          ))}
          {props.workflows.length === 0 && <div className="text-sm text-muted-foreground py-2">No workflows yet.</div>}
        </TabsContent>
        <TabsContent value="logs">
          {props.logs.map((log) => <LogRow key={log.id} log={log} can={props.can} setNote={setNote} />)}
          {props.logs.length === 0 && <div className="text-sm text-muted-foreground py-2">No health logs.</div>}
        </TabsContent>
      </Tabs>
    </div>
  );
}
