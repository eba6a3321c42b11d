<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="nl" sourcelanguage="en">
<context>
    <name>AdvancedPage</name>
    <message>
        <source>Organisations</source>
        <translation>Organisaties</translation>
    </message>
    <message>
        <source>Persons</source>
        <translation>Personen</translation>
    </message>
    <message>
        <source>Contact persons</source>
        <translation>Contactpersonen</translation>
    </message>
    <message>
        <source>GetConnectors</source>
        <translation>GetConnectors</translation>
    </message>
    <message>
        <source>All three must exist in Profit; one may return no rows.</source>
        <translation>Alle drie moeten in Profit bestaan; één mag leeg blijven.</translation>
    </message>
    <message>
        <source>Column mapping (empty: detected automatically)</source>
        <translation>Kolomindeling (leeg: automatisch herkend)</translation>
    </message>
    <message>
        <source>Id column</source>
        <translation>Id-kolom</translation>
    </message>
    <message>
        <source>BcId column</source>
        <translation>BcId-kolom</translation>
    </message>
    <message>
        <source>Name column</source>
        <translation>Naamkolom</translation>
    </message>
    <message>
        <source>Phone columns</source>
        <translation>Telefoonkolommen</translation>
    </message>
    <message>
        <source>Organisation column</source>
        <translation>Organisatiekolom</translation>
    </message>
    <message>
        <source>Modified column</source>
        <translation>Wijzigingsdatumkolom</translation>
    </message>
    <message>
        <source>Created column</source>
        <translation>Kolom aangemaakt</translation>
    </message>
    <message>
        <source>automatic</source>
        <translation>automatisch</translation>
    </message>
    <message>
        <source>Several columns, comma separated, e.g. TelWork, MobWork</source>
        <translation>Meerdere kolommen, gescheiden door komma&apos;s, bijv. TelWork, MobWork</translation>
    </message>
    <message>
        <source>Dossier items</source>
        <translation>Dossieritems</translation>
    </message>
    <message>
        <source>Read-back GetConnector</source>
        <translation>GetConnector voor teruglezen</translation>
    </message>
    <message>
        <source>Checks which call reports reached AFAS after a lost answer, so none is posted twice; also lists the last items on the caller card.</source>
        <translation>Controleert na een verloren antwoord welke gespreksverslagen AFAS bereikten, zodat er geen twee keer wordt verstuurd; toont ook de laatste items op de bellerkaart.</translation>
    </message>
    <message>
        <source>Item id</source>
        <translation>Item-id</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Type</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>Tekst</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>Datum</translation>
    </message>
    <message>
        <source>Relation</source>
        <translation>Relatie</translation>
    </message>
    <message>
        <source>Its columns</source>
        <translation>Kolommen</translation>
    </message>
    <message>
        <source>Empty: taken from the connector&apos;s metainfo.</source>
        <translation>Leeg: uit de metainfo van de connector.</translation>
    </message>
    <message>
        <source>Relation number (BcCo)</source>
        <translation>Relatienummer (BcCo)</translation>
    </message>
    <message>
        <source>Internal id (BcId)</source>
        <translation>Intern id (BcId)</translation>
    </message>
    <message>
        <source>Link dossier items by</source>
        <translation>Dossieritems koppelen op</translation>
    </message>
    <message>
        <source>What KnSubject&apos;s BcId field receives; the number unless your administration links on the id.</source>
        <translation>Wat het veld BcId van KnSubject krijgt; het nummer, tenzij uw administratie op het id koppelt.</translation>
    </message>
    <message>
        <source>General</source>
        <translation>Algemeen</translation>
    </message>
    <message>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <source>Sync interval</source>
        <translation>Synchronisatie-interval</translation>
    </message>
    <message>
        <source>How often the phone book is refreshed; a click on the icon syncs at once.</source>
        <translation>Hoe vaak het telefoonboek wordt bijgewerkt; een klik op het pictogram synchroniseert meteen.</translation>
    </message>
    <message>
        <source>Default country</source>
        <translation>Standaardland</translation>
    </message>
    <message>
        <source>For numbers written without a country code (NL, BE, DE, …).</source>
        <translation>Voor nummers zonder landcode (NL, BE, DE, …).</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>Systeemtaal</translation>
    </message>
    <message>
        <source>Nederlands</source>
        <translation>Nederlands</translation>
    </message>
    <message>
        <source>English</source>
        <translation>English</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Taal</translation>
    </message>
    <message>
        <source>Start at login</source>
        <translation>Starten bij aanmelden</translation>
    </message>
    <message>
        <source>Start AFAS Tray when you log in to this computer.</source>
        <translation>AFAS Tray starten wanneer u zich aanmeldt op deze computer.</translation>
    </message>
</context>
<context>
    <name>AfasPage</name>
    <message>
        <source>&lt;token&gt;&lt;version&gt;1&lt;/version&gt;&lt;data&gt;…&lt;/data&gt;&lt;/token&gt;</source>
        <translation>&lt;token&gt;&lt;version&gt;1&lt;/version&gt;&lt;data&gt;…&lt;/data&gt;&lt;/token&gt;</translation>
    </message>
    <message>
        <source>API token</source>
        <translation>API token</translation>
    </message>
    <message>
        <source>Generated in Profit for the app connector; the whole token or only its data part.</source>
        <translation>Aangemaakt in Profit bij de app connector; het hele token of alleen het data-deel.</translation>
    </message>
    <message>
        <source>Profit server host</source>
        <translation>Profit server host</translation>
    </message>
    <message>
        <source>Test and accept environments use resttest or restaccept.</source>
        <translation>Test- en acceptatieomgevingen gebruiken resttest of restaccept.</translation>
    </message>
    <message>
        <source>Sync active</source>
        <translation>Synchronisatie actief</translation>
    </message>
    <message>
        <source>Keeps the phone book up to date and uploads call reports.</source>
        <translation>Houdt het telefoonboek bij en verstuurt gespreksverslagen.</translation>
    </message>
    <message>
        <source>e.g. 5</source>
        <translation>bijv. 5</translation>
    </message>
    <message>
        <source>Dossier item type</source>
        <translation>Type dossier item</translation>
    </message>
    <message>
        <source>Needed to upload call reports; the number of the type in Profit.</source>
        <translation>Nodig om gespreksverslagen te versturen; het nummer van het type in Profit.</translation>
    </message>
    <message>
        <source>URL template Profit organisation/person</source>
        <translation>URL sjabloon Profit organisatie/persoon</translation>
    </message>
    <message>
        <source>&lt;BCID&gt; is replaced by the relation&apos;s internal id (column BcId), &lt;BCCO&gt; by its number (column BcCo, &apos;Nummer&apos;): use the one your InSite page takes.</source>
        <translation>&lt;BCID&gt; wordt vervangen door het interne id van de relatie (kolom BcId), &lt;BCCO&gt; door haar nummer (kolom BcCo, &apos;Nummer&apos;): gebruik wat uw InSite-pagina verwacht.</translation>
    </message>
    <message>
        <source>Sync MP3 recordings</source>
        <translation>Mp3 opnames synchroniseren</translation>
    </message>
    <message>
        <source>Attaches the call recording to the dossier item.</source>
        <translation>Voegt de gespreksopname toe aan het dossieritem.</translation>
    </message>
    <message>
        <source>Always sync</source>
        <translation>Altijd synchroniseren</translation>
    </message>
    <message>
        <source>Logs every finished call with a known relation, also without a report.</source>
        <translation>Legt elk afgelopen gesprek met een bekende relatie vast, ook zonder verslag.</translation>
    </message>
    <message>
        <source>e.g. Phone call</source>
        <translation>bijv. Telefoongesprek</translation>
    </message>
    <message>
        <source>Text for empty subject</source>
        <translation>Tekst bij leeg onderwerp</translation>
    </message>
    <message>
        <source>Profit requires a subject; used when a report has none.</source>
        <translation>Profit vereist een onderwerp; gebruikt als een verslag er geen heeft.</translation>
    </message>
    <message>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <source>Wait for recording</source>
        <translation>Wachten op opname</translation>
    </message>
    <message>
        <source>Xelion can publish a recording minutes after hang-up.</source>
        <translation>Xelion kan een opname pas minuten na het ophangen beschikbaar maken.</translation>
    </message>
    <message>
        <source>e.g. 12345_123456</source>
        <translation>bijv. 12345_123456</translation>
    </message>
    <message>
        <source>IntegrationId</source>
        <translation>IntegrationId</translation>
    </message>
    <message>
        <source>Only for AFAS partners: sent with every request. Empty: none.</source>
        <translation>Alleen voor AFAS-partners: gaat mee met elk verzoek. Leeg: geen.</translation>
    </message>
</context>
<context>
    <name>CallReportDialog</name>
    <message>
        <source>Call report — AFAS Tray</source>
        <translation>Gespreksverslag — AFAS Tray</translation>
    </message>
    <message>
        <source>{direction} call with {number} · {time} · {duration}</source>
        <translation>{direction} gesprek met {number} · {time} · {duration}</translation>
    </message>
    <message>
        <source>The AFAS relation the dossier item is filed under.</source>
        <translation>De AFAS-relatie waarbij het dossieritem wordt vastgelegd.</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>Kies…</translation>
    </message>
    <message>
        <source>&amp;Relation</source>
        <translation>&amp;Relatie</translation>
    </message>
    <message>
        <source>Empty: “{text}” is used</source>
        <translation>Leeg: “{text}” wordt gebruikt</translation>
    </message>
    <message>
        <source>Short summary of the call</source>
        <translation>Korte samenvatting van het gesprek</translation>
    </message>
    <message>
        <source>&amp;Subject</source>
        <translation>&amp;Onderwerp</translation>
    </message>
    <message>
        <source>What was discussed, agreements, follow-up</source>
        <translation>Wat is besproken, afspraken, vervolg</translation>
    </message>
    <message>
        <source>&amp;Text</source>
        <translation>&amp;Tekst</translation>
    </message>
    <message>
        <source>Ctrl+Enter saves · Esc cancels</source>
        <translation>Ctrl+Enter bewaart · Esc annuleert</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Opslaan</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Annuleren</translation>
    </message>
    <message>
        <source>Incoming</source>
        <translation>Inkomend</translation>
    </message>
    <message>
        <source>Outgoing</source>
        <translation>Uitgaand</translation>
    </message>
    <message>
        <source>Phone</source>
        <translation>Telefoon</translation>
    </message>
    <message>
        <source>{direction} call with {number} · {time}</source>
        <translation>{direction} gesprek met {number} · {time}</translation>
    </message>
    <message>
        <source>Name or number in the phone book</source>
        <translation>Naam of nummer in het telefoonboek</translation>
    </message>
    <message>
        <source>The caller is not in the phone book: find the relation to file the report under.</source>
        <translation>De beller staat niet in het telefoonboek: zoek de relatie waaronder het verslag komt.</translation>
    </message>
    <message>
        <source>&amp;Find relation</source>
        <translation>Relatie &amp;zoeken</translation>
    </message>
    <message>
        <source>Type at least two letters or digits.</source>
        <translation>Typ minstens twee letters of cijfers.</translation>
    </message>
    <message>
        <source>The search failed: {error}</source>
        <translation>Het zoeken is mislukt: {error}</translation>
    </message>
    <message>
        <source>No relation found for “{text}”.</source>
        <translation>Geen relatie gevonden voor “{text}”.</translation>
    </message>
    <message>
        <source>Found: {n}. Choose the relation below.</source>
        <translation>Gevonden: {n}. Kies hieronder de relatie.</translation>
    </message>
</context>
<context>
    <name>CallerCard</name>
    <message>
        <source>Caller — AFAS Tray</source>
        <translation>Beller — AFAS Tray</translation>
    </message>
    <message>
        <source>Contact person at {organisation}</source>
        <translation>Contactpersoon bij {organisation}</translation>
    </message>
    <message>
        <source>Last dossier items</source>
        <translation>Laatste dossieritems</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>Laden…</translation>
    </message>
    <message>
        <source>Open card</source>
        <translation>Kaart openen</translation>
    </message>
    <message>
        <source>Write report</source>
        <translation>Verslag schrijven</translation>
    </message>
    <message>
        <source>Call back</source>
        <translation>Terugbellen</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Sluiten</translation>
    </message>
    <message>
        <source>No dossier items yet.</source>
        <translation>Nog geen dossieritems.</translation>
    </message>
    <message>
        <source>Dossier items could not be read from AFAS just now.</source>
        <translation>De dossieritems konden nu niet uit AFAS worden gelezen.</translation>
    </message>
</context>
<context>
    <name>CreateRelationForm</name>
    <message>
        <source>Person</source>
        <translation>Persoon</translation>
    </message>
    <message>
        <source>Organisation</source>
        <translation>Organisatie</translation>
    </message>
    <message>
        <source>e.g. van, de</source>
        <translation>bijv. van, de</translation>
    </message>
    <message>
        <source>First name</source>
        <translation>Voornaam</translation>
    </message>
    <message>
        <source>Prefix</source>
        <translation>Voorvoegsel</translation>
    </message>
    <message>
        <source>Last name</source>
        <translation>Achternaam</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Naam</translation>
    </message>
    <message>
        <source>Number</source>
        <translation>Nummer</translation>
    </message>
    <message>
        <source>Create</source>
        <translation>Aanmaken</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Annuleren</translation>
    </message>
    <message>
        <source>Creating in AFAS…</source>
        <translation>Bezig met aanmaken in AFAS…</translation>
    </message>
    <message>
        <source>AFAS cannot be reached from here.</source>
        <translation>AFAS is hiervandaan niet bereikbaar.</translation>
    </message>
    <message>
        <source>AFAS did not create the relation; see the log.</source>
        <translation>AFAS heeft de relatie niet aangemaakt; zie het logboek.</translation>
    </message>
</context>
<context>
    <name>Dial</name>
    <message>
        <source>The clipboard holds no phone number.</source>
        <translation>Het klembord bevat geen telefoonnummer.</translation>
    </message>
    <message>
        <source>Call back</source>
        <translation>Terugbellen</translation>
    </message>
    <message>
        <source>Missed calls (%1)</source>
        <translation>Gemiste oproepen (%1)</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>onbekend</translation>
    </message>
    <message>
        <source>Dial clipboard number</source>
        <translation>Nummer op klembord bellen</translation>
    </message>
    <message>
        <source>No missed calls</source>
        <translation>Geen gemiste oproepen</translation>
    </message>
    <message>
        <source>Open card</source>
        <translation>Kaart openen</translation>
    </message>
    <message>
        <source>Simulate missed call</source>
        <translation>Gemiste oproep simuleren</translation>
    </message>
</context>
<context>
    <name>DialPage</name>
    <message>
        <source>My phone number</source>
        <translation>Mijn telefoonnummer</translation>
    </message>
    <message>
        <source>Xelion rings this phone first and then connects you to the number you dial. Needed for dialling through Xelion.</source>
        <translation>Xelion laat eerst deze telefoon overgaan en verbindt je daarna met het nummer dat je belt. Nodig om via Xelion te bellen.</translation>
    </message>
    <message>
        <source>Dial with my softphone (the system&apos;s tel: app) instead of Xelion</source>
        <translation>Bellen met mijn softphone (de tel:-app van het systeem) in plaats van Xelion</translation>
    </message>
    <message>
        <source>Make your softphone the default app for tel: links, or AFAS Tray cannot reach it.</source>
        <translation>Maak je softphone de standaard-app voor tel:-links, anders kan AFAS Tray hem niet bereiken.</translation>
    </message>
    <message>
        <source>Record a missed call of a known relation as a dossier item</source>
        <translation>Een gemiste oproep van een bekende relatie vastleggen als dossieritem</translation>
    </message>
    <message>
        <source>Subject &apos;Gemiste oproep&apos;; needs the dossier item type on the AFAS tab.</source>
        <translation>Onderwerp &apos;Gemiste oproep&apos;; vraagt het type dossier item op het tabblad AFAS.</translation>
    </message>
    <message>
        <source>&lt;ctrl&gt;+&lt;alt&gt;+d</source>
        <translation>&lt;ctrl&gt;+&lt;alt&gt;+b</translation>
    </message>
    <message>
        <source>Dial hotkey</source>
        <translation>Sneltoets bellen</translation>
    </message>
    <message>
        <source>Dials the copied (on Linux: the selected) number from any program. Empty: no hotkey. Needs the optional pynput package; see the README.</source>
        <translation>Belt het gekopieerde (op Linux: het geselecteerde) nummer vanuit elk programma. Leeg: geen sneltoets. Vraagt het optionele pakket pynput; zie de README.</translation>
    </message>
</context>
<context>
    <name>MatchPicker</name>
    <message>
        <source>Choose a relation — AFAS Tray</source>
        <translation>Kies een relatie — AFAS Tray</translation>
    </message>
    <message>
        <source>Several relations use {number}</source>
        <translation>Meerdere relaties gebruiken {number}</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Naam</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Soort</translation>
    </message>
    <message>
        <source>BcId</source>
        <translation>BcId</translation>
    </message>
    <message>
        <source>Remember for this number</source>
        <translation>Onthouden voor dit nummer</translation>
    </message>
    <message>
        <source>1–9 picks · Enter opens · Esc closes</source>
        <translation>1–9 kiest · Enter opent · Esc sluit</translation>
    </message>
    <message>
        <source>Open card</source>
        <translation>Kaart openen</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Sluiten</translation>
    </message>
</context>
<context>
    <name>PopPage</name>
    <message>
        <source>When the phone rings</source>
        <translation>Als de telefoon overgaat</translation>
    </message>
    <message>
        <source>When I answer</source>
        <translation>Als ik opneem</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Uit</translation>
    </message>
    <message>
        <source>Open the AFAS card</source>
        <translation>AFAS-kaart openen</translation>
    </message>
    <message>
        <source>When the caller&apos;s relation card opens in the browser.</source>
        <translation>Wanneer de relatiekaart van de beller in de browser opent.</translation>
    </message>
    <message>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <source>Ignore repeats within</source>
        <translation>Herhalingen negeren binnen</translation>
    </message>
    <message>
        <source>The same call reported twice opens one card.</source>
        <translation>Hetzelfde gesprek dat twee keer binnenkomt opent één kaart.</translation>
    </message>
    <message>
        <source> digits</source>
        <translation> cijfers</translation>
    </message>
    <message>
        <source>Internal extensions up to</source>
        <translation>Interne toestellen tot</translation>
    </message>
    <message>
        <source>Calls from numbers this short never open a card and are not logged.</source>
        <translation>Gesprekken van zulke korte nummers openen nooit een kaart en worden niet vastgelegd.</translation>
    </message>
    <message>
        <source>Own numbers</source>
        <translation>Eigen nummers</translation>
    </message>
    <message>
        <source>The company&apos;s own numbers, comma separated: never a card, never logged.</source>
        <translation>De eigen nummers van het bedrijf, gescheiden door komma&apos;s: nooit een kaart, nooit vastgelegd.</translation>
    </message>
    <message>
        <source>Page for unknown callers</source>
        <translation>Pagina voor onbekende bellers</translation>
    </message>
    <message>
        <source>Optional; &lt;NUMBER&gt; is replaced by the caller&apos;s number. Empty: a notice only.</source>
        <translation>Optioneel; &lt;NUMBER&gt; wordt vervangen door het nummer van de beller. Leeg: alleen een melding.</translation>
    </message>
    <message>
        <source>Open the card in the browser</source>
        <translation>De kaart in de browser openen</translation>
    </message>
    <message>
        <source>When a call rings</source>
        <translation>Als de telefoon gaat</translation>
    </message>
    <message>
        <source>The relation&apos;s InSite card in the default browser, as before.</source>
        <translation>De InSite-kaart van de relatie in de standaardbrowser, zoals voorheen.</translation>
    </message>
    <message>
        <source>Show the caller card</source>
        <translation>De bellerkaart tonen</translation>
    </message>
    <message>
        <source>A small window near the tray: who is calling and the last three dossier items. It never takes the keyboard.</source>
        <translation>Een klein venster bij het systeemvak: wie er belt en de laatste drie dossieritems. Het neemt nooit het toetsenbord over.</translation>
    </message>
    <message>
        <source>Near the tray</source>
        <translation>Bij het systeemvak</translation>
    </message>
    <message>
        <source>Top right</source>
        <translation>Rechtsboven</translation>
    </message>
    <message>
        <source>Top left</source>
        <translation>Linksboven</translation>
    </message>
    <message>
        <source>Bottom left</source>
        <translation>Linksonder</translation>
    </message>
    <message>
        <source>Centre of the screen</source>
        <translation>Midden op het scherm</translation>
    </message>
    <message>
        <source>Caller card position</source>
        <translation>Plaats van de bellerkaart</translation>
    </message>
    <message>
        <source>Until the call ends</source>
        <translation>Tot het gesprek eindigt</translation>
    </message>
    <message>
        <source>Caller card stays</source>
        <translation>Bellerkaart blijft staan</translation>
    </message>
    <message>
        <source>It always closes when the call ends, unless it stays until closed.</source>
        <translation>Hij sluit altijd als het gesprek eindigt, tenzij hij blijft staan tot u hem sluit.</translation>
    </message>
    <message>
        <source>Stay until closed</source>
        <translation>Blijven staan tot ik hem sluit</translation>
    </message>
    <message>
        <source>Follow do not disturb in Xelion</source>
        <translation>Niet storen van Xelion volgen</translation>
    </message>
    <message>
        <source>While do not disturb is on in Xelion, calls open nothing; they are still logged.</source>
        <translation>Zolang niet storen in Xelion aan staat, opent een gesprek niets; het wordt wel gelogd.</translation>
    </message>
    <message>
        <source>Log calls from</source>
        <translation>Gesprekken loggen vanaf</translation>
    </message>
    <message>
        <source>Shorter calls go to AFAS only with a written report. 0: every call.</source>
        <translation>Kortere gesprekken gaan alleen met een geschreven verslag naar AFAS. 0: elk gesprek.</translation>
    </message>
    <message>
        <source>Log outgoing calls</source>
        <translation>Uitgaande gesprekken loggen</translation>
    </message>
    <message>
        <source>Off: outgoing calls go to AFAS only with a written report.</source>
        <translation>Uit: uitgaande gesprekken gaan alleen met een geschreven verslag naar AFAS.</translation>
    </message>
    <message>
        <source>Never log</source>
        <translation>Nooit loggen</translation>
    </message>
    <message>
        <source>Numbers, comma separated, whose calls never reach AFAS (besides the own numbers).</source>
        <translation>Nummers, gescheiden door komma’s, waarvan gesprekken nooit in AFAS komen (naast de eigen nummers).</translation>
    </message>
    <message>
        <source>Loopback HTTP trigger</source>
        <translation>Lokale HTTP-trigger</translation>
    </message>
    <message>
        <source>Lets a desk phone or softphone on this computer report calls.</source>
        <translation>Laat een bureautelefoon of softphone op deze computer gesprekken melden.</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>Automatisch</translation>
    </message>
    <message>
        <source>Now listening on http://127.0.0.1:{port}/call?number=…</source>
        <translation>Luistert nu op http://127.0.0.1:{port}/call?number=…</translation>
    </message>
    <message>
        <source>Automatic picks a free port per user (terminal servers).</source>
        <translation>Automatisch kiest per gebruiker een vrije poort (terminalservers).</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>Poort</translation>
    </message>
    <message>
        <source>New</source>
        <translation>Nieuw</translation>
    </message>
    <message>
        <source>Generate a new random secret</source>
        <translation>Een nieuw willekeurig geheim maken</translation>
    </message>
    <message>
        <source>Secret</source>
        <translation>Geheim</translation>
    </message>
    <message>
        <source>The phone sends it with every call, so no other program can pop cards.</source>
        <translation>De telefoon stuurt het bij elk gesprek mee, zodat geen ander programma kaarten kan openen.</translation>
    </message>
</context>
<context>
    <name>QtOpener</name>
    <message>
        <source>Unknown caller</source>
        <translation>Onbekende beller</translation>
    </message>
    <message>
        <source>{number} is not in the AFAS phone book.</source>
        <translation>{number} staat niet in het AFAS-telefoonboek.</translation>
    </message>
</context>
<context>
    <name>Relation</name>
    <message>
        <source>Organisation</source>
        <translation>Organisatie</translation>
    </message>
    <message>
        <source>Person</source>
        <translation>Persoon</translation>
    </message>
    <message>
        <source>Contact person</source>
        <translation>Contactpersoon</translation>
    </message>
</context>
<context>
    <name>SecretEdit</name>
    <message>
        <source>Hide</source>
        <translation>Verbergen</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Tonen</translation>
    </message>
    <message>
        <source>Hide the secret again</source>
        <translation>Het geheim weer verbergen</translation>
    </message>
    <message>
        <source>Show the secret while typing</source>
        <translation>Het geheim tonen tijdens het typen</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings — AFAS Tray</source>
        <translation>Instellingen — AFAS Tray</translation>
    </message>
    <message>
        <source>Welcome! Fill in the AFAS connection (API token, Profit server host and URL template) and your Xelion account, then press Test connection.</source>
        <translation>Welkom! Vul de AFAS-koppeling in (API token, Profit server host en URL sjabloon) en uw Xelion-account, en klik dan op Verbinding testen.</translation>
    </message>
    <message>
        <source>AFAS</source>
        <translation>AFAS</translation>
    </message>
    <message>
        <source>Xelion</source>
        <translation>Xelion</translation>
    </message>
    <message>
        <source>Caller pop</source>
        <translation>Beller tonen</translation>
    </message>
    <message>
        <source>Advanced</source>
        <translation>Geavanceerd</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Opslaan</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Annuleren</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>Verbinding</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>Verbinding testen</translation>
    </message>
    <message>
        <source>Checks the host, the token, the three GetConnectors and Xelion.</source>
        <translation>Controleert de host, het token, de drie GetConnectors en Xelion.</translation>
    </message>
    <message>
        <source>Complete or correct the marked fields to save.</source>
        <translation>Vul de gemarkeerde velden aan of verbeter ze om op te slaan.</translation>
    </message>
    <message>
        <source>Testing…</source>
        <translation>Bezig met testen…</translation>
    </message>
    <message>
        <source>The test could not start.</source>
        <translation>De test kon niet starten.</translation>
    </message>
    <message>
        <source>The test stopped unexpectedly; see the log.</source>
        <translation>De test is onverwacht gestopt; zie het logbestand.</translation>
    </message>
    <message>
        <source>{failed} of {total} checks failed.</source>
        <translation>{failed} van {total} controles mislukt.</translation>
    </message>
    <message>
        <source>All {total} checks passed.</source>
        <translation>Alle {total} controles geslaagd.</translation>
    </message>
    <message>
        <source>Dialling</source>
        <translation>Bellen</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>%1 %2
Caller pop and call reports for Xelion and AFAS Profit.</source>
        <translation>%1 %2
Beller tonen en gespreksverslagen voor Xelion en AFAS Profit.</translation>
    </message>
    <message>
        <source>Up to date</source>
        <translation>Bijgewerkt</translation>
    </message>
    <message>
        <source>Syncing…</source>
        <translation>Synchroniseren…</translation>
    </message>
    <message>
        <source>Needs attention</source>
        <translation>Aandacht nodig</translation>
    </message>
    <message>
        <source>Sync paused</source>
        <translation>Synchronisatie gepauzeerd</translation>
    </message>
    <message>
        <source>Not set up yet</source>
        <translation>Nog niet ingesteld</translation>
    </message>
    <message>
        <source>Last sync: %1 (%2 min ago)</source>
        <translation>Laatste synchronisatie: %1 (%2 min geleden)</translation>
    </message>
    <message>
        <source>Last sync: never</source>
        <translation>Laatste synchronisatie: nooit</translation>
    </message>
    <message>
        <source>Phone book: %1 relations</source>
        <translation>Telefoonboek: %1 relaties</translation>
    </message>
    <message>
        <source>Reports waiting: %1</source>
        <translation>Wachtende verslagen: %1</translation>
    </message>
    <message>
        <source>Xelion: %1</source>
        <translation>Xelion: %1</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>onbekend</translation>
    </message>
    <message>
        <source>Sync now</source>
        <translation>Nu synchroniseren</translation>
    </message>
    <message>
        <source>Recent calls</source>
        <translation>Recente gesprekken</translation>
    </message>
    <message>
        <source>No calls yet</source>
        <translation>Nog geen gesprekken</translation>
    </message>
    <message>
        <source>Open card</source>
        <translation>Kaart openen</translation>
    </message>
    <message>
        <source>Write report…</source>
        <translation>Verslag schrijven…</translation>
    </message>
    <message>
        <source>Simulate incoming call</source>
        <translation>Inkomend gesprek nabootsen</translation>
    </message>
    <message>
        <source>Resume sync</source>
        <translation>Synchronisatie hervatten</translation>
    </message>
    <message>
        <source>Pause sync</source>
        <translation>Synchronisatie pauzeren</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>Instellingen…</translation>
    </message>
    <message>
        <source>Open log folder</source>
        <translation>Logmap openen</translation>
    </message>
    <message>
        <source>About %1</source>
        <translation>Over %1</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Afsluiten</translation>
    </message>
    <message>
        <source>Resume caller pop</source>
        <translation>Bellerpop hervatten</translation>
    </message>
    <message>
        <source>Pause caller pop</source>
        <translation>Bellerpop pauzeren</translation>
    </message>
    <message>
        <source>For an hour</source>
        <translation>Een uur</translation>
    </message>
    <message>
        <source>Until resumed</source>
        <translation>Tot ik hervat</translation>
    </message>
    <message>
        <source>Menu</source>
        <translation>Menu</translation>
    </message>
    <message>
        <source>Something went wrong (%1): %2</source>
        <translation>Er ging iets mis (%1): %2</translation>
    </message>
    <message>
        <source>The report could not be saved: %1</source>
        <translation>Het verslag kon niet worden opgeslagen: %1</translation>
    </message>
    <message>
        <source>applying the settings</source>
        <translation>instellingen toepassen</translation>
    </message>
    <message>
        <source>AFAS refused a report</source>
        <translation>AFAS weigerde een verslag</translation>
    </message>
    <message>
        <source>AFAS refused %1 reports</source>
        <translation>AFAS weigerde %1 verslagen</translation>
    </message>
    <message>
        <source>Reports</source>
        <translation>Verslagen</translation>
    </message>
    <message>
        <source>Reports (%1 failed)</source>
        <translation>Verslagen (%1 mislukt)</translation>
    </message>
    <message>
        <source>On their way to AFAS: %1</source>
        <translation>Onderweg naar AFAS: %1</translation>
    </message>
    <message>
        <source>Waiting for a relation or pick: %1</source>
        <translation>Wachten op een relatie of keuze: %1</translation>
    </message>
    <message>
        <source>Failed: %1</source>
        <translation>Mislukt: %1</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>Opnieuw proberen</translation>
    </message>
    <message>
        <source>Retry all failed</source>
        <translation>Alle mislukte opnieuw proberen</translation>
    </message>
</context>
<context>
    <name>UnknownCallerNotice</name>
    <message>
        <source>Unknown caller — AFAS Tray</source>
        <translation>Onbekende beller — AFAS Tray</translation>
    </message>
    <message>
        <source>Unknown caller</source>
        <translation>Onbekende beller</translation>
    </message>
    <message>
        <source>{number} is not in the AFAS phone book.</source>
        <translation>{number} staat niet in het AFAS-telefoonboek.</translation>
    </message>
    <message>
        <source>Search in AFAS</source>
        <translation>Zoeken in AFAS</translation>
    </message>
    <message>
        <source>Copy number</source>
        <translation>Nummer kopiëren</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Sluiten</translation>
    </message>
    <message>
        <source>Create in AFAS</source>
        <translation>Aanmaken in AFAS</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Gekopieerd</translation>
    </message>
</context>
<context>
    <name>XelionPage</name>
    <message>
        <source>Xelion server</source>
        <translation>Xelion-server</translation>
    </message>
    <message>
        <source>Leave the Xelion fields empty to receive calls only from the command line or a phone.</source>
        <translation>Laat de Xelion-velden leeg om gesprekken alleen via de opdrachtregel of een telefoon te ontvangen.</translation>
    </message>
    <message>
        <source>e.g. master</source>
        <translation>bijv. master</translation>
    </message>
    <message>
        <source>Tenant</source>
        <translation>Tenant</translation>
    </message>
    <message>
        <source>The tenant name in the Xelion address.</source>
        <translation>De tenantnaam in het Xelion-adres.</translation>
    </message>
    <message>
        <source>e.g. j.jansen</source>
        <translation>bijv. j.jansen</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Gebruikersnaam</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Wachtwoord</translation>
    </message>
    <message>
        <source>Stored in the system keychain, never in a file.</source>
        <translation>Bewaard in de sleutelhanger van het systeem, nooit in een bestand.</translation>
    </message>
    <message>
        <source>User space</source>
        <translation>Gebruikersruimte (user space)</translation>
    </message>
    <message>
        <source>Unique name for this computer; empty uses the machine name.</source>
        <translation>Unieke naam voor deze computer; leeg gebruikt de computernaam.</translation>
    </message>
    <message>
        <source>Keep Xelion&apos;s address book in step with AFAS</source>
        <translation>Xelion-adresboek gelijk houden met AFAS</translation>
    </message>
    <message>
        <source>Puts AFAS relations into Xelion so every phone shows the caller&apos;s name. Turn this on for one desk or one server only, not on every desk.</source>
        <translation>Zet AFAS-relaties in Xelion, zodat elk toestel de naam van de beller toont. Zet dit aan op één werkplek of één server, niet op elke werkplek.</translation>
    </message>
</context>
</TS>
