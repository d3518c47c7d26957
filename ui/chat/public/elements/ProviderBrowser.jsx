import { useState } from 'react';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Button } from '@/components/ui/button';
import { Badge } from '@/components/ui/badge';
import { Input } from '@/components/ui/input';
import { KeyRound, ExternalLink } from 'lucide-react';

// props from ui/chat/elements/props.py provider_browser(). A secret typed here goes only
// into the add_provider action's payload: it is never put in props, state after sending,
// or a message; the reply carries the masked hint only.

function AddForm({ provider, onDone }) {
  const [name, setName] = useState(`${provider.display_name}`);
  const [values, setValues] = useState({});
  const [note, setNote] = useState(null);
  const submit = async () => {
    const credentials = values;
    setValues({});  // the secret leaves the form with the request, and is not kept
    setNote({ text: 'Connecting…' });
    const res = await callAction({ name: 'add_provider', payload: {
      provider: provider.name, name, credentials,
      redirect_uri: provider.oauth ? `${window.location.origin}/integrations/oauth/callback/` : null } });
    const reply = (res && res.response) || {};
    if (reply.ok === false) { setNote({ error: true, text: reply.error.message }); return; }
    setNote({ text: `Added ${reply.integration.name} (${reply.integration.status}; ${reply.integration.credential_hint || 'no credential yet'}).`,
              url: reply.authorize_url });
    onDone && onDone();
  };
  return (
    <div className="flex flex-col gap-2 pt-2" data-testid="add-form">
      <Input value={name} onChange={(e) => setName(e.target.value)} placeholder="Name" aria-label="Name" />
      {provider.fields.map((f) => (
        <Input key={f.name} type={f.secret ? 'password' : 'text'} autoComplete="off"
               aria-label={f.name} placeholder={f.name} value={values[f.name] || ''}
               onChange={(e) => setValues({ ...values, [f.name]: e.target.value })} />
      ))}
      <Button size="sm" onClick={submit} disabled={!name.trim()}>
        <KeyRound className="h-3 w-3 mr-1" />{provider.oauth ? 'Add and connect' : 'Add'}
      </Button>
      {note && <div className="text-xs text-muted-foreground" style={note.error ? { color: '#dc2626' } : {}} data-testid="add-note">
        {note.text}{' '}
        {note.url && <a href={note.url} target="_blank" rel="noreferrer" className="underline inline-flex items-center">
          Open the consent page<ExternalLink className="h-3 w-3 ml-1" /></a>}
      </div>}
    </div>
  );
}

export default function ProviderBrowser() {
  const [open, setOpen] = useState(null);
  return (
    <div className="flex flex-col gap-4 w-full" data-testid="provider-browser">
      {props.categories.map((category) => (
        <div key={category.name}>
          <div className="text-sm font-semibold uppercase text-muted-foreground mb-2">{category.name}</div>
          <div className="grid grid-cols-2 gap-3">
            {category.providers.map((p) => (
              <Card key={p.name} data-testid="provider-card">
                <CardHeader className="pb-2">
                  <div className="flex items-center justify-between">
                    <CardTitle className="text-base">{p.display_name}</CardTitle>
                    <Badge variant="outline">{p.auth_type}</Badge>
                  </div>
                  <div className="text-xs text-muted-foreground">{p.description}</div>
                </CardHeader>
                <CardContent className="text-xs flex flex-col gap-1">
                  <div><span className="text-muted-foreground">Reads: </span>{p.streams.join(', ') || 'none'}</div>
                  <div><span className="text-muted-foreground">Writes: </span>{p.writes.join(', ') || 'none'}</div>
                  <div><span className="text-muted-foreground">Webhooks: </span>{p.webhooks ? 'yes' : 'no'}
                    {p.connected > 0 && <span> · {p.connected} connected</span>}</div>
                  {open === p.name ? <AddForm provider={p} /> : (
                    <Button size="sm" variant="outline" className="mt-1" disabled={!props.can.add}
                            onClick={() => setOpen(p.name)}>Add {p.display_name}</Button>
                  )}
                </CardContent>
              </Card>
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}
