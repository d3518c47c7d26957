import { useEffect, useState } from 'react';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { CheckCircle2, Plus, Trash2, XCircle } from 'lucide-react';

// props from ui/chat/elements/props.py workflow_builder(): the integrations (with the
// webhook events each sends), the condition operators and the action library with each
// action's parameters as JSON Schema. Every change is checked (check_workflow, which
// saves nothing); Save goes through create_workflow and its confirmation card.

const select = 'h-9 rounded-md border border-input bg-background px-2 text-sm';

function kind(schema) {
  if (schema.type) return schema.type;
  const types = (schema.anyOf || []).map((s) => s.type).filter((t) => t && t !== 'null');
  return types[0] || 'string';
}

function ParamInput({ name, schema, value, onChange }) {
  const type = kind(schema);
  const label = `${name}${schema.description ? ` — ${schema.description}` : ''}`;
  if (schema.enum) {
    return <select className={select} aria-label={name} value={value ?? ''} onChange={(e) => onChange(e.target.value)}>
      <option value="">{name}</option>{schema.enum.map((v) => <option key={v} value={v}>{v}</option>)}</select>;
  }
  if (type === 'boolean') {
    return <label className="text-xs flex gap-2 items-center"><input type="checkbox" checked={!!value} onChange={(e) => onChange(e.target.checked)} />{label}</label>;
  }
  if (type === 'object' || type === 'array') {
    return <Input aria-label={name} placeholder={`${label} (JSON)`} defaultValue={value ? JSON.stringify(value) : ''}
                  onChange={(e) => { try { onChange(e.target.value ? JSON.parse(e.target.value) : undefined); } catch (err) { /* typing */ } }} />;
  }
  return <Input aria-label={name} placeholder={label} type={type === 'integer' || type === 'number' ? 'number' : 'text'} value={value ?? ''}
                onChange={(e) => onChange(e.target.value === '' ? undefined : (type === 'integer' || type === 'number') ? Number(e.target.value) : e.target.value)} />;
}

export default function WorkflowBuilder() {
  const first = props.integrations[0];
  const [draft, setDraft] = useState({ integration: first ? first.id : '', name: '', trigger_type: 'webhook',
    trigger_config: first && first.events.length ? { event: first.events[0] } : {}, conditions: [], actions: [] });
  const [check, setCheck] = useState(null);
  const [note, setNote] = useState(null);
  const library = Object.fromEntries(props.actions.map((a) => [a.type, a]));
  const integration = props.integrations.find((i) => i.id === draft.integration);
  const set = (key, value) => setDraft({ ...draft, [key]: value });
  const body = () => ({ integration: draft.integration, name: draft.name || 'Untitled workflow', trigger_type: draft.trigger_type,
    trigger_config: draft.trigger_config,
    conditions: draft.conditions.length ? { all: draft.conditions.filter((c) => c.field) } : {},
    actions: draft.actions.map((a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined && v !== ''))) });

  useEffect(() => {
    if (!draft.integration) return;
    const timer = setTimeout(async () => {
      const res = await callAction({ name: 'check_workflow', payload: body() });
      setCheck((res && res.response) || null);
    }, 400);
    return () => clearTimeout(timer);
  }, [JSON.stringify(draft)]);

  const save = async () => {
    const res = await callAction({ name: 'save_workflow', payload: body() });
    const reply = (res && res.response) || {};
    setNote(reply.ok === false ? { error: true, text: reply.error.message } : { text: 'Confirm the new workflow in the chat.' });
  };
  const trigger = draft.trigger_type;
  return (
    <div className="flex flex-col gap-3 w-full" data-testid="workflow-builder">
      <Card><CardHeader className="pb-2"><CardTitle className="text-sm">When</CardTitle></CardHeader>
        <CardContent className="flex flex-col gap-2">
          <Input aria-label="workflow name" placeholder="Workflow name" value={draft.name} onChange={(e) => set('name', e.target.value)} />
          <div className="flex gap-2 flex-wrap">
            <select className={select} aria-label="integration" value={draft.integration}
                    onChange={(e) => { const next = props.integrations.find((i) => i.id === e.target.value);
                      setDraft({ ...draft, integration: e.target.value, trigger_config: trigger === 'webhook' && next && next.events.length ? { event: next.events[0] } : draft.trigger_config }); }}>
              {props.integrations.map((i) => <option key={i.id} value={i.id}>{i.name}</option>)}
            </select>
            <select className={select} aria-label="trigger" value={trigger}
                    onChange={(e) => setDraft({ ...draft, trigger_type: e.target.value, trigger_config:
                      e.target.value === 'webhook' && integration && integration.events.length ? { event: integration.events[0] }
                        : e.target.value === 'schedule' ? { cron: '0 9 * * 1-5', timezone: 'UTC' }
                        : e.target.value === 'condition' ? { check: 'sync_failed' } : {} })}>
              {props.triggers.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
            {trigger === 'webhook' && (
              <select className={select} aria-label="event" value={draft.trigger_config.event || ''} onChange={(e) => set('trigger_config', { event: e.target.value })}>
                {(integration ? integration.events : []).map((ev) => <option key={ev} value={ev}>{ev}</option>)}
              </select>)}
            {trigger === 'schedule' && (<>
              <Input className="w-40" aria-label="cron" value={draft.trigger_config.cron || ''} onChange={(e) => set('trigger_config', { ...draft.trigger_config, cron: e.target.value })} />
              <Input className="w-40" aria-label="timezone" value={draft.trigger_config.timezone || ''} onChange={(e) => set('trigger_config', { ...draft.trigger_config, timezone: e.target.value })} />
            </>)}
            {trigger === 'condition' && (<>
              <select className={select} aria-label="check" value={draft.trigger_config.check} onChange={(e) => set('trigger_config', e.target.value === 'health_below' ? { check: 'health_below', threshold: 60 } : { check: e.target.value })}>
                <option value="sync_failed">sync_failed</option><option value="health_below">health_below</option></select>
              {draft.trigger_config.check === 'health_below' && <Input className="w-24" type="number" aria-label="threshold" value={draft.trigger_config.threshold}
                onChange={(e) => set('trigger_config', { ...draft.trigger_config, threshold: Number(e.target.value) })} />}
            </>)}
          </div>
        </CardContent></Card>
      <Card><CardHeader className="pb-2"><CardTitle className="text-sm">Only if</CardTitle></CardHeader>
        <CardContent className="flex flex-col gap-2">
          {draft.conditions.map((c, i) => (
            <div key={i} className="flex gap-2" data-testid="condition-row">
              <Input aria-label="condition field" placeholder="record.properties.email" value={c.field}
                     onChange={(e) => set('conditions', draft.conditions.map((x, n) => n === i ? { ...x, field: e.target.value } : x))} />
              <select className={select} aria-label="operator" value={c.op} onChange={(e) => set('conditions', draft.conditions.map((x, n) => n === i ? { ...x, op: e.target.value } : x))}>
                {props.operators.map((op) => <option key={op} value={op}>{op}</option>)}</select>
              <Input aria-label="condition value" value={c.value} onChange={(e) => set('conditions', draft.conditions.map((x, n) => n === i ? { ...x, value: e.target.value } : x))} />
              <Button size="sm" variant="ghost" aria-label="remove condition" onClick={() => set('conditions', draft.conditions.filter((_, n) => n !== i))}><Trash2 className="h-3 w-3" /></Button>
            </div>))}
          <Button size="sm" variant="outline" className="self-start" onClick={() => set('conditions', [...draft.conditions, { field: '', op: props.operators[0], value: '' }])}><Plus className="h-3 w-3 mr-1" />Condition</Button>
        </CardContent></Card>
      <Card><CardHeader className="pb-2"><CardTitle className="text-sm">Then</CardTitle></CardHeader>
        <CardContent className="flex flex-col gap-3">
          {draft.actions.map((a, i) => {
            const spec = library[a.type];
            const params = (spec && spec.params && spec.params.properties) || {};
            return (
              <div key={i} className="flex flex-col gap-1 border rounded-md p-2" data-testid="action-step">
                <div className="flex justify-between text-sm"><span className="font-medium">{i + 1}. {a.type}</span>
                  <Button size="sm" variant="ghost" aria-label="remove action" onClick={() => set('actions', draft.actions.filter((_, n) => n !== i))}><Trash2 className="h-3 w-3" /></Button></div>
                <div className="text-xs text-muted-foreground">{spec && spec.summary}</div>
                {Object.entries(params).map(([name, schema]) => (
                  <ParamInput key={name} name={name} schema={schema} value={a[name]}
                              onChange={(value) => set('actions', draft.actions.map((x, n) => n === i ? { ...x, [name]: value } : x))} />))}
              </div>);
          })}
          <select className={select} aria-label="add action" value="" onChange={(e) => e.target.value && set('actions', [...draft.actions, { type: e.target.value }])}>
            <option value="">Add an action…</option>
            {props.actions.map((a) => <option key={a.type} value={a.type}>{a.type}: {a.summary}</option>)}
          </select>
        </CardContent></Card>
      <div className="flex items-center gap-3">
        <Button disabled={!props.can.save || !(check && check.ok) || !draft.name.trim()} onClick={save}>Save workflow</Button>
        {check && (check.ok
          ? <span className="text-sm flex items-center gap-1" style={{ color: '#16a34a' }} data-testid="workflow-check"><CheckCircle2 className="h-4 w-4" />Valid{check.next_run_at ? `; first run ${new Date(check.next_run_at).toLocaleString()}` : ''}</span>
          : <span className="text-sm flex items-center gap-1" style={{ color: '#dc2626' }} data-testid="workflow-check"><XCircle className="h-4 w-4" />{check.error.message}</span>)}
      </div>
      {note && <div className="text-sm rounded-md px-3 py-2 bg-muted" style={note.error ? { color: '#dc2626' } : {}} data-testid="workflow-note">{note.text}</div>}
    </div>
  );
}
