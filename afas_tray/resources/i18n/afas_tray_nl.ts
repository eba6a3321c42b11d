<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="nl" sourcelanguage="en">
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
    <message>
        <source>GetConnectors</source>
        <translation>GetConnectors</translation>
    </message>
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
        <source>automatic</source>
        <translation>automatisch</translation>
    </message>
    <message>
        <source>Several columns, comma separated, e.g. TelWork, MobWork</source>
        <translation>Meerdere kolommen, gescheiden door komma&apos;s, bijv. TelWork, MobWork</translation>
    </message>
    <message>
        <source>General</source>
        <translation>Algemeen</translation>
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
        <source>Menu</source>
        <translation>Menu</translation>
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
        <source>Copied</source>
        <translation>Gekopieerd</translation>
    </message>
</context>
</TS>
