"""Writes samenwerkingsovereenkomst.docx, the demo network's first draft (run once; the .docx is committed)."""

from pathlib import Path

import docx

HERE = Path(__file__).resolve().parent


def main() -> None:
    d = docx.Document()
    d.add_heading("Samenwerkingsovereenkomst Zorgnetwerk Zeldzame Aandoeningen Noord", level=0)
    d.add_paragraph("Concept van de projectgroep, ter bespreking in de digitale commentaarronde.")
    d.add_heading("Artikel 1 Partijen", level=1)
    d.add_paragraph("Deze overeenkomst wordt gesloten tussen de volgende partijen:")
    for party in ("Patiëntenvereniging Noord, vertegenwoordigd door haar voorzitter;",
                  "Expertisecentrum UMC Noord, vertegenwoordigd door de afdelingsmanager;",
                  "Huisartsenpraktijk De Wijk, vertegenwoordigd door de praktijkhouder;",
                  "Apotheek Centrum, vertegenwoordigd door de beherend apotheker."):
        d.add_paragraph(party, style="List Number")
    d.add_heading("Artikel 2 Doel van de samenwerking", level=1)
    p = d.add_paragraph("Partijen werken samen om mensen met een ")
    p.add_run("zeldzame aandoening").bold = True
    p.add_run(" goede zorg dichtbij huis te bieden, met de kennis van het expertisecentrum waar dat nodig is.")
    d.add_heading("Artikel 3 Taken", level=1)
    for task in ("De patiëntenvereniging brengt de ervaringskennis van patiënten en naasten in.",
                 "Het expertisecentrum stelt de diagnose en maakt het behandelplan.",
                 "De huisarts is het eerste aanspreekpunt en coördineert de zorg thuis.",
                 "De apotheker bewaakt de medicatie en signaleert interacties."):
        d.add_paragraph(task, style="List Bullet")
    d.add_heading("Artikel 4 Overleg", level=1)
    d.add_paragraph("De kerngroep komt ten minste vier keer per jaar bijeen. Het netwerk houdt jaarlijks een bijeenkomst.")
    table = d.add_table(rows=3, cols=2)
    table.style = "Table Grid"
    for row, (what, when) in zip(table.rows, [("Overleg", "Frequentie"), ("Kerngroep", "4 keer per jaar"),
                                              ("Netwerkbijeenkomst", "1 keer per jaar")]):
        row.cells[0].text, row.cells[1].text = what, when
    d.add_heading("Artikel 5 Besluitvorming", level=1)
    d.add_paragraph("Dit document wordt definitief zodra alle leden akkoord zijn.")
    d.add_heading("Artikel 6 Duur en beëindiging", level=1)
    d.add_paragraph("Deze overeenkomst geldt voor twee jaar en wordt daarna stilzwijgend verlengd, "
                    "tenzij een partij met een opzegtermijn van drie maanden opzegt.")
    d.save(HERE / "samenwerkingsovereenkomst.docx")


if __name__ == "__main__":
    main()
