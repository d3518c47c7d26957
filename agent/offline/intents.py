"""Which operation a message asks for: cues scored per tool, the strongest wins.

A cue is a pattern over the lowercased message with a weight; the cues of a tool add
up. Writes are asked for with verbs ("sync ... now", "pause", "create a flow"), reads
with the thing asked about ("health", "logs", "usage"). A table, so a new phrasing is
one line, and nothing here knows a particular question."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLOW = r"(?:data[ -]?)?(?:flow|pipeline|mapping)s?"
_WF = r"(?:work ?flow|automation|zap|recipe)s?"
_INTEG = r"(?:integration|connection|connector|account)s?"
PAUSE = (r"\b(pause|disable|deactivate|suspend|turn off|switch off|stop|halt|freeze)\b|"
         r"\b(turn|switch)\b.{1,30}\boff\b")
RESUME = (r"\b(resume|enable|reactivate|activate|unpause|turn on|switch on|restart|re-enable)\b|"
          r"\b(turn|switch)\b.{1,30}\bon\b")

CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "health_summary": (
        (r"\bhealth(y|iest|ier)?\b|\bhealth ?scores?\b", 3.0),
        (r"\bhow (are|is) (my|our|all|the|everything)\b.*\b(doing|going|looking)\b", 2.5),
        (r"\b(overall|overview|at a glance|dashboard|big picture)\b", 1.0),
        (r"\b(is )?(any|anything|something) (broken|wrong|down|failing)\b", 2.5),
        (r"\bsmooth(ly)?\b|\ball good\b|\b(everything|all) (ok|okay|fine|working|running)\b", 2.5),
        (r"\bscores?\b", 1.0),
        (r"\bstatus of (all|every|my|our) ", 1.0),
    ),
    "health_logs": (
        (r"\blogs?\b|\blog entries\b", 3.5),
        (r"\bevents?\b", 2.0),
        (r"\b(did|has|have) (anything|something|any \w+) (fail|break|go wrong|error)\w*", 2.5),
        (r"\b(fail\w*|errors?|broke\w*)\b.*\b(overnight|last night|yesterday|today|"
         r"this week|past|last \d+|recently|lately|since|on (monday|tuesday|wednesday|thursday|"
         r"friday|saturday|sunday))\b", 1.5),
        (r"\b(errors?|warnings?|critical|incidents?|problems|issues|alerts)\b", 1.2),
        (r"\bwhat (went|has gone|happened)\b", 1.0),
        (r"\b(show|list|give|see)\b.*\b(errors?|warnings?|critical|incidents?)\b", 1.0),
    ),
    "explain_failure": (
        (r"\bwhy\b", 1.5),
        (r"\b(fail\w*|broke\w*|error\w*|crash\w*|wrong|stopped|not working|isn't working"
         r"|doesn't work|down)\b", 1.2),
        (r"\bstop(ped)? (syncing|working|running|updating|sending)\b", 2.5),
        (r"\b(what'?s|what is) (going on|happening)\b|\b(can't|cannot|can not|don't) see\b|"
         r"\b(missing|not (showing|appearing|coming through|arriving|updating))\b", 2.0),
        (r"\b(explain|root cause|diagnos\w*|what caused|what's wrong|what is wrong"
         r"|troubleshoot|debug|figure out)\b", 2.0),
    ),
    "api_usage": (
        (r"\b(api )?usage\b|\bapi calls?\b|\bcalls\b|\bquotas?\b|\brate[ -]?limit\w*\b", 2.5),
        (r"\bapi limits?\b|\b(hit|hitting|reach\w*|near|close to) (the |our )?(\w+ )?limits?\b",
         2.0),
        (r"\b(requests? (made|used|count)|how many requests|consum\w*|budget|throttl\w*)\b", 2.0),
        (r"\bhow much (of|api)\b", 1.0),
    ),
    "list_data_flows": (
        (rf"\b(list|show|which|what|all|my|our|see|any)\b.*\b{_FLOW}\b", 1.8),
        (rf"\b{_FLOW}\b", 1.0),
        (r"\bwhat (data )?(gets|is) synced\b|\bwhat syncs\b", 1.5),
        (r"\b(being|getting|is|are) synced\b|\bsync(ed|ing) between\b", 2.5),
        (r"\bwhat('s| is) syncing\b|\bsyncing from\b", 2.5),
    ),
    "test_mapping": (
        (rf"\b(test|try|check|preview|validate|dry[ -]?run)\b.*\b(mapping|{_FLOW})\b", 3.0),
        (r"\bmapping\b", 1.0),
        (r"\bwhat would .* (look like|produce|output|give|return)\b|\bsample (records|rows)\b",
         3.0),
    ),
    "list_workflows": (
        (rf"\b(list|show|which|what|all|my|our|see|any|have)\b.*\b{_WF}\b", 1.8),
        (rf"\b{_WF}\b", 1.2),
    ),
    "workflow_runs": (
        (rf"\b{_WF}\b.*\b(runs?|ran|executions?|history|last time|did .* run|results?)\b", 3.2),
        (rf"\b(runs|ran|executions?|executed|last run)\b.*\b{_WF}\b", 3.2),
        (r"\b(did|has) .* (run|fire|trigger)\w*\b", 1.0),
    ),
    "list_insights": (
        (r"\binsights?\b|\bfindings?\b|\banomal\w+\b|\bdetected\b|\bnotic\w+\b", 2.5),
        (r"\banything (unusual|odd|strange)\b|\bspotted\b", 1.5),
    ),
    "recommendations": (
        (r"\brecommend\w*\b|\bsuggest\w*\b|\badvi[cs]e\b|\btips?\b|\bideas?\b", 3.0),
        (r"\bmore (reliable|robust|stable|efficient|resilient)\b", 1.5),
        (r"\b(what should (i|we)|should (i|we)|how (can|could|do|would) (i|we) (improve|make|"
         r"get|reduce|speed|optimi[sz]e|fix|cut|lower)|next steps?|best practices?)\b", 2.5),
        (r"\b(improve|optimi[sz]e|better|reduce|save|faster|cheaper)\b", 1.0),
    ),
    "search_knowledge": (
        (r"\b(docs?|documentation|knowledge( base)?|kb|guide|manual|article|runbook)\b", 2.5),
        (r"\bhow (do|can|should) (i|we|you)\b|\bhow to\b", 1.3),
        (r"\bwhat('s| is| are) (a|an)\b|\bwhat does .* mean\b|\bdefin(e|ition)\b|"
         r"\bdifference between\b|\bexplain (what|how)\b", 3.0),
        (r"\bwhere (can|do|could) (i|we) (read|find|learn)\b|\bread (up )?about\b|"
         r"\blearn (about|how)\b", 3.0),
        (r"\b(search|look up|find (info|information|anything)|what does .* mean|"
         r"meaning of)\b", 1.5),
        (r"\bhave (we|i|you) (seen|had|hit)\b|\b(like this|this) before\b|\bsimilar\b|"
         r"\bpast (incidents|issues)\b", 3.0),
    ),
    "test_connection": (
        (r"\btest\w*\b.*\b(connection|connectivity|credentials?|auth\w*|creds|login|token)\b", 3.5),
        (r"\b(connection|connectivity|credentials?|auth) (test|check)\b", 3.5),
        (r"^\s*(please )?(test|ping|verify)\b", 2.5),
        (r"^\s*(please )?(reconnect|re-?auth\w*|reauthori[sz]e|re-?login)\b", 2.5),
        (r"\b(check|verify|validate)\w*\b.*\b(connection|connectivity|credentials?|creds|"
         r"token|auth\w*|login)\b", 3.5),
        (r"\b(connection|connectivity|credentials?|creds|token|api key)\b.*\b(work\w*|valid|ok|"
         r"fine|good|test\w*|check\w*|alive)\b", 2.5),
        (r"\b(ping|reachable|can (you|we) reach|still connected|is .* connected|up and running"
         r"|can connect|able to connect|still (work|valid))\w*\b", 2.5),
    ),
    "list_providers": (
        (r"\bproviders?\b|\bcatalog(ue)?\b|\bmarketplace\b", 2.0),
        (r"\b(supported|available|offer|support)\b", 1.2),
        (r"\bwhat can i (connect|integrate|add|hook up)\b|"
         r"\bwhich (apps|services|tools) can\b", 3.0),
        (r"\b(apps|services|platforms|tools) (do|can) you\b", 2.0),
    ),
    "get_provider": (
        (r"\b(tell me|what do you know|more|details?|info\w*) about\b", 1.5),
        (r"\b(scopes?|auth type|oauth|what does .* support|capabilit\w+|streams?|objects?|"
         r"endpoints?|rate limits? of)\b", 1.5),
        (r"\bprovider\b", 2.5),
    ),
    "list_integrations": (
        (rf"\b(list|show|which|what|all|my|our|see|any|have|how many)\b.*\b{_INTEG}\b", 1.5),
        (rf"\b{_INTEG}\b", 0.5),
        (r"\bwhat (is|are|have i|have we) (connected|set up|hooked up)\b", 2.0),
        (r"\bwhat('s| is) connected\b|\bconnected (apps|services|tools)\b", 2.0),
    ),
    "get_integration": (
        (r"\b(details?|settings|config\w*|status|info\w*|state)\b", 1.2),
        (r"\b(tell me|show me|what about|look at)\b", 0.8),
        (r"\bhow is\b.*\b(doing|going|looking)\b|\bis .* (ok|okay|fine|working|active|up)\b", 1.2),
        (r"\bwhen did .* last\b|\blast (synced|sync)\b", 1.0),
    ),
    # writes
    "sync_now": (
        (r"\bsync\w*\b.*\b(now|right now|immediately|asap|again|today|right away|"
         r"straight away|at once)\b", 3.5),
        (r"\bsync (it|them|this|that|everything)\b", 2.5),
        (r"\b(run|trigger|start|kick off|force|do|launch|refresh|re-?run|pull)\b.*\b(sync|"
         r"refresh|import|update|data)\b", 2.5),
        (r"^\s*(please |can you |could you )?(re-?)?sync\b", 3.0),
        (rf"\b(run|trigger|start|kick off|launch)\b.*\b{_FLOW}\b", 3.0),
        (r"\brefresh\b|\bpull (the )?latest\b|\bresync\b|\bre-sync\b", 2.0),
    ),
    "update_integration": (
        (PAUSE, 3.0),
        (RESUME, 3.0),
        (rf"\b(rename|update|change|edit|modify|set)\b.*\b{_INTEG}\b", 2.0),
        (r"\brename\b", 2.5),
    ),
    "delete_integration": (
        (r"\b(delete|remove|disconnect|uninstall|get rid of|drop|unlink|tear down)\b", 3.5),
    ),
    "create_integration": (
        (r"\b(connect|add|set up|setup|hook up|link|install|integrate|onboard)\b", 1.5),
        (rf"\b(add|create|set up|new|connect)\b.*\b{_INTEG}\b", 2.0),
        (r"\bconnect (to |with )?(my |our |a |an )?\w+\b", 1.0),
    ),
    "create_data_flow": (
        (rf"\b(create|add|set up|setup|make|build|new|start)\b.*\b{_FLOW}\b", 3.5),
        (r"\b(copy|copies|copying|copied|send|sends|push|pushes|pushed|move|moves|moved|"
         r"import|mirror|mirrored|feed|pipe|bring)\b.*\b(into|to|from)\b", 2.2),
        (r"\b(keep|automatically sync|regularly sync|sync\w*) .* (in sync|with|to|into)\b", 1.0),
        (r"\b(every|each|hourly|daily|weekly|nightly|real[ -]?time)\b", 0.5),
    ),
    "update_data_flow": (
        (rf"\b(change|update|edit|modify|set|switch|make)\b.*\b{_FLOW}\b", 2.8),
        (rf"\b{_FLOW}\b.*\b(to run|frequency|schedule|hourly|daily|weekly|instead)\b", 1.5),
        (r"\b(frequency|schedule)\b", 1.0),
    ),
    "create_workflow": (
        (rf"\b(create|add|set up|setup|make|build|new)\b.*\b{_WF}\b", 3.5),
        (r"\b(when(ever)?|every time|each time|as soon as|if)\b.*\b(then|notify|post|send|"
         r"alert|message|ping|email|tell|create|add)\b", 2.5),
        (r"\b(notify|alert|ping|post|message) (me|us|the team|#?\w+ channel)\b", 1.0),
        (r"\b(every|each)\b.*\b(send|post|notify|message|email|remind|report)\w*\b", 2.0),
        (r"\b(drops?|falls?|goes|rises?|exceeds?|gets?) (below|under|above|over|past)\b", 2.0),
        (r"\b(report|digest|reminder|notification|summary)s?\b", 1.0),
        (r"#[a-z0-9_-]+", 1.5),
    ),
    "execute_workflow": (
        (r"^\s*(please )?(execute|fire)\b", 2.5),
        (rf"\b(run|execute|trigger|start|fire|launch|kick off|invoke|test)\b.*\b{_WF}\b", 3.2),
    ),
    "resolve_insight": (
        (r"\b(resolve|dismiss|acknowledge|ack|close|clear|mark)\b.*\b(insight|alert|finding|"
         r"warning|anomaly|recommendation)\b", 4.0),
        (r"\bmark\b.*\b(done|resolved|fixed|handled)\b", 3.0),
    ),
    "replay_failed_records": (
        (r"\b(replay|retry|reprocess|resend|re-?send|re-?run|redo|re-?try|push again)\b.*\b("
         r"failed|failures|dead[ -]?letters?|records?|rows|errors?|rejected)\b", 4.5),
        (r"\bdead[ -]?letters?\b", 1.5),
        (r"\b(failed|dead[ -]?letter\w*|rejected)\b.*\b(again|through)\b", 3.0),
        (r"\breplay\b", 2.0),
    ),
    "resolve_conflict": (
        (r"\bconflicts?\b", 2.5),
        (r"\bkeep (the )?(local|remote|ours|theirs|our|their|connectus|provider|hubspot|"
         r"salesforce|mailchimp)\b", 2.0),
    ),
    "undo": (
        (r"\bundo\b|\brevert\b|\broll ?back\b|\breverse\b|\btake (that|it) back\b|"
         r"\bput (it|that) back\b|\bcancel (that|the last)\b", 4.5),
    ),
}
_COMPILED = {tool: tuple((re.compile(p), w) for p, w in cues) for tool, cues in CUES.items()}
_QUOTES = re.compile("[\"\u201c\u201d][^\"\u201c\u201d]*[\"\u201c\u201d]|"
                     "(?<![\\w])['\u2018][^'\u2018\u2019]*['\u2019](?![\\w])")
WRITES = frozenset({"sync_now", "update_integration", "delete_integration",
                    "create_integration", "create_data_flow", "update_data_flow",
                    "create_workflow", "execute_workflow", "resolve_insight",
                    "replay_failed_records", "resolve_conflict", "undo"})


@dataclass(frozen=True)
class Scored:
    tool: str
    score: float


def score_intents(lower: str) -> list[Scored]:
    """Every tool with a cue in the message, strongest first (ties: table order).
    Quoted names are blanked first: a workflow called "New lead alert" asks for nothing new."""
    lower = _QUOTES.sub(" x ", lower)
    scored = []
    for order, (tool, cues) in enumerate(_COMPILED.items()):
        total = sum(weight for pattern, weight in cues if pattern.search(lower))
        if total > 0:
            scored.append((total, -order, tool))
    scored.sort(reverse=True)
    return [Scored(tool, total) for total, _, tool in scored]
