import { useEffect, useState } from 'react';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Button } from '@/components/ui/button';
import { Badge } from '@/components/ui/badge';
import { Input } from '@/components/ui/input';
import { ArrowRight, Plus, Trash2 } from 'lucide-react';

// props from ui/chat/elements/props.py field_mapping(). Each edit asks for a preview
// (preview_mapping: test_mapping on a live sample with the unsaved mapping); Save goes
// through update_data_flow and its confirmation card in the chat.

function ruleText(rules) {
  return rules.map((r) => [r.rule, ...Object.entries(r).filter(([k]) => k !== 'rule').map(([k, v]) => `${k}=${v}`)].join(' ')).join('; ');
}

function parseRules(text) {
  // "trim; case to=lower" -> [{rule: "trim"}, {rule: "case", to: "lower"}]
  return text.split(';').map((part) => part.trim()).filter(Boolean).map((part) => {
    const [rule, ...params] = part.split(/\s+/);
    const out = { rule };
    params.forEach((p) => { const [k, ...v] = p.split('='); out[k] = v.join('='); });
    return out;
  });
}

export default function FieldMapping() {
  const [rows, setRows] = useState(props.rows.map((r) => ({ ...r, ruleText: ruleText(r.rules) })));
  const [preview, setPreview] = useState(null);
  const [note, setNote] = useState(null);
  const payload = () => ({ flow_id: props.flow.id,
    rows: rows.filter((r) => r.source && r.target).map((r) => ({ source: r.source, target: r.target, rules: parseRules(r.ruleText) })) });

  useEffect(() => {
    if (!props.can.preview) return;
    const timer = setTimeout(async () => {
      const res = await callAction({ name: 'preview_mapping', payload: payload() });
      const reply = (res && res.response) || {};
      if (reply.ok === false) { setNote({ error: true, text: reply.error.message }); setPreview(null); return; }
      setNote(null);
      setPreview(reply.preview);
    }, 400);
    return () => clearTimeout(timer);
  }, [JSON.stringify(rows)]);

  const edit = (i, key, value) => setRows(rows.map((r, n) => (n === i ? { ...r, [key]: value } : r)));
  const save = async () => {
    const res = await callAction({ name: 'save_mapping', payload: payload() });
    const reply = (res && res.response) || {};
    setNote(reply.ok === false ? { error: true, text: reply.error.message } : { text: 'Confirm the change in the chat.' });
  };

  return (
    <div className="flex flex-col gap-3 w-full" data-testid="field-mapping">
      <div className="text-sm"><span className="font-semibold">{props.flow.name}</span>
        <span className="text-muted-foreground"> · {props.flow.integration} · {props.flow.direction} · {props.flow.stream}</span></div>
      <datalist id={`fields-${props.flow.id}`}>{props.source_options.map((f) => <option key={f} value={f} />)}</datalist>
      <div className="flex flex-col gap-2">
        {rows.map((r, i) => (
          <div key={i} className="grid items-center gap-2" style={{ gridTemplateColumns: '1fr auto 1fr 1.3fr auto' }} data-testid="mapping-row">
            <Input value={r.source} list={`fields-${props.flow.id}`} aria-label="source field" onChange={(e) => edit(i, 'source', e.target.value)} />
            <ArrowRight className="h-4 w-4 text-muted-foreground" />
            <Input value={r.target} aria-label="target field" onChange={(e) => edit(i, 'target', e.target.value)} />
            <Input value={r.ruleText} aria-label="rules" placeholder="rules: trim; case to=lower" onChange={(e) => edit(i, 'ruleText', e.target.value)} />
            <Button size="sm" variant="ghost" aria-label="remove" onClick={() => setRows(rows.filter((_, n) => n !== i))}><Trash2 className="h-3 w-3" /></Button>
          </div>
        ))}
      </div>
      <div className="text-xs text-muted-foreground">Rules: {props.rule_options.map((r) => r.params.length ? `${r.rule} (${r.params.join(', ')})` : r.rule).join(' · ')}</div>
      <div className="flex gap-2">
        <Button size="sm" variant="outline" onClick={() => setRows([...rows, { source: '', target: '', rules: [], ruleText: '' }])}><Plus className="h-3 w-3 mr-1" />Field</Button>
        <Button size="sm" disabled={!props.can.save} onClick={save}>Save mapping</Button>
      </div>
      {note && <div className="text-sm rounded-md px-3 py-2 bg-muted" style={note.error ? { color: '#dc2626' } : {}} data-testid="mapping-note">{note.text}</div>}
      {preview && (
        <Card data-testid="mapping-preview">
          <CardHeader className="pb-1"><CardTitle className="text-sm">Preview on {preview.records.length} {preview.source} records:
            {' '}<Badge variant="outline">{preview.mapped} mapped</Badge> <Badge variant="outline">{preview.failed} failed</Badge> <Badge variant="outline">{preview.dropped} dropped</Badge></CardTitle></CardHeader>
          <CardContent className="flex flex-col gap-2 text-xs">
            {preview.records.map((s, i) => (
              <div key={i} className="grid grid-cols-2 gap-2 border-b pb-2">
                <pre className="whitespace-pre-wrap break-all bg-muted rounded p-1">{JSON.stringify(s.before, null, 1)}</pre>
                <pre className="whitespace-pre-wrap break-all bg-muted rounded p-1">{s.dropped ? '(dropped)' : JSON.stringify(s.after, null, 1)}
                  {s.errors.map((e) => `\n! ${e.field}: ${e.message}`).join('')}</pre>
              </div>
            ))}
          </CardContent>
        </Card>
      )}
    </div>
  );
}
