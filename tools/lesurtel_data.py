# ruff: noqa: E501 - long title templates read better whole
"""Vocabulary for the synthetic records of the worked example (tools/reconstruct_worked_example.py).

Nothing here describes a real publication: the synthetic records are assembled from these parts
by a seeded random generator, and each is marked as synthetic in its export file.
"""

from __future__ import annotations

# (MEDLINE abbreviation, full title, Embase abbreviation). The first block holds the journals of
# the 38 included studies, so their copies in each database are written the way that database
# writes the journal.
JOURNALS = {
    "Am J Surg": ("American Journal of Surgery", "Am. J. Surg."),
    "J Am Coll Surg": ("Journal of the American College of Surgeons", "J. Am. Coll. Surg."),
    "Surgery": ("Surgery", "Surgery"),
    "J Surg Oncol": ("Journal of Surgical Oncology", "J. Surg. Oncol."),
    "Eur J Surg Oncol": ("European Journal of Surgical Oncology", "Eur. J. Surg. Oncol."),
    "Ann Surg Oncol": ("Annals of Surgical Oncology", "Ann. Surg. Oncol."),
    "Arch Surg": ("Archives of Surgery", "Arch. Surg."),
    "Ann Surg": ("Annals of Surgery", "Ann. Surg."),
    "Endocr Relat Cancer": ("Endocrine-Related Cancer", "Endocr.-Relat. Cancer"),
    "World J Surg": ("World Journal of Surgery", "World J. Surg."),
    "Hepatogastroenterology": ("Hepato-Gastroenterology", "Hepato-Gastroenterology"),
    "Br J Surg": ("British Journal of Surgery", "Br. J. Surg."),
    "Langenbecks Arch Surg": ("Langenbeck's Archives of Surgery", "Langenbeck's Arch. Surg."),
    "HPB (Oxford)": (
        "HPB : the official journal of the International Hepato Pancreato Biliary Association",
        "HPB",
    ),
    "Jpn J Clin Oncol": ("Japanese Journal of Clinical Oncology", "Jpn. J. Clin. Oncol."),
    "J Gastrointest Surg": ("Journal of Gastrointestinal Surgery", "J. Gastrointest. Surg."),
    "Ann Chir": ("Annales de chirurgie", "Ann. Chir."),
    "Am J Clin Oncol": ("American Journal of Clinical Oncology", "Am. J. Clin. Oncol."),
    "Eur Surg": ("European Surgery - Acta Chirurgica Austriaca", "Eur. Surg."),
    "Neuroendocrinology": ("Neuroendocrinology", "Neuroendocrinology"),
    # Journals the synthetic records appear in.
    "J Clin Oncol": ("Journal of Clinical Oncology", "J. Clin. Oncol."),
    "Cancer": ("Cancer", "Cancer"),
    "Pancreas": ("Pancreas", "Pancreas"),
    "Liver Transpl": ("Liver Transplantation", "Liver Transpl."),
    "J Hepatol": ("Journal of Hepatology", "J. Hepatol."),
    "Hepatology": ("Hepatology", "Hepatology"),
    "Radiology": ("Radiology", "Radiology"),
    "J Vasc Interv Radiol": ("Journal of Vascular and Interventional Radiology", "J. Vasc. Interv. Radiol."),
    "Eur J Nucl Med Mol Imaging": (
        "European Journal of Nuclear Medicine and Molecular Imaging",
        "Eur. J. Nucl. Med. Mol. Imaging",
    ),
    "J Nucl Med": ("Journal of Nuclear Medicine", "J. Nucl. Med."),
    "Am J Surg Pathol": ("American Journal of Surgical Pathology", "Am. J. Surg. Pathol."),
    "Gastroenterology": ("Gastroenterology", "Gastroenterology"),
    "Dig Dis Sci": ("Digestive Diseases and Sciences", "Dig. Dis. Sci."),
    "Oncologist": ("The Oncologist", "Oncologist"),
    "Lancet Oncol": ("The Lancet Oncology", "Lancet Oncol."),
    "Dis Colon Rectum": ("Diseases of the Colon and Rectum", "Dis. Colon Rectum"),
    "Cardiovasc Intervent Radiol": (
        "CardioVascular and Interventional Radiology",
        "CardioVasc. Interv. Radiol.",
    ),
    "Endocr Pathol": ("Endocrine Pathology", "Endocr. Pathol."),
    "J Endocrinol Invest": ("Journal of Endocrinological Investigation", "J. Endocrinol. Invest."),
    "Clin Endocrinol (Oxf)": ("Clinical Endocrinology", "Clin. Endocrinol."),
    "Zentralbl Chir": ("Zentralblatt fur Chirurgie", "Zentralbl. Chir."),
    "Chirurg": ("Der Chirurg", "Chirurg"),
    "Gan To Kagaku Ryoho": ("Gan to kagaku ryoho. Cancer & chemotherapy", "Jpn. J. Cancer Chemother."),
    "Int J Radiat Oncol Biol Phys": (
        "International Journal of Radiation Oncology, Biology, Physics",
        "Int. J. Radiat. Oncol. Biol. Phys.",
    ),
    "Ann Oncol": ("Annals of Oncology", "Ann. Oncol."),
    "Surg Oncol": ("Surgical Oncology", "Surg. Oncol."),
}
SYNTHETIC_JOURNALS = list(JOURNALS)[20:]
SURGICAL_JOURNALS = [
    "Ann Surg Oncol",
    "World J Surg",
    "HPB (Oxford)",
    "J Gastrointest Surg",
    "Surgery",
    "Br J Surg",
    "Langenbecks Arch Surg",
    "J Surg Oncol",
    "Eur J Surg Oncol",
    "Ann Surg",
    "Surg Oncol",
    "J Am Coll Surg",
    "Am J Surg",
    "Dis Colon Rectum",
    "Chirurg",
    "Zentralbl Chir",
]

SURNAMES = """Abe Adams Akhtar Alvarez Andersen Arai Baker Balzano Barbier Becker Bernard Bianchi
Bjornsson Blanc Bock Borg Brandt Brennan Caldwell Campos Carrara Castro Chan Chang Chaudhry Chen
Cho Choi Clarke Conti Costa Cruz Dahl Dalton Das Delgado Dietrich Dubois Duarte Eriksson Esposito
Evans Farkas Fischer Fontana Foster Fujita Garcia Gentile Goh Gomes Gonzalez Graham Gruber Gupta
Haas Hansen Hartmann Hayashi Henriksen Hoffmann Horvath Hughes Ibrahim Ikeda Ito Jansen Jensen
Johansson Kaiser Kato Keller Khan Kim Klein Kobayashi Koch Kowalski Kumar Lambert Lange Larsen Lee
Leone Lindqvist Liu Lopez Lorenz Maier Marchetti Martin Meyer Miller Moreau Morales Moretti Muller
Nagy Nakamura Navarro Neumann Nguyen Nielsen Novak Ogawa Olsen Ortiz Park Patel Pereira Peters
Petrov Pham Quinn Ramos Reyes Ricci Rossi Russo Sato Schmidt Schneider Schulz Silva Singh Sorensen
Suzuki Svensson Takahashi Tanaka Thomsen Torres Tran Vargas Vogel Wagner Walker Wang Weber Wong Wu
Yamamoto Yilmaz Young Zhang Zhao Zimmermann""".split()

CENTRES = [
    "a single institution",
    "a tertiary referral centre",
    "two university hospitals",
    "a national registry",
    "a multicentre cohort",
    "a high-volume hepatobiliary unit",
    "a regional cancer centre",
    "a French multicentre study",
    "a Scandinavian cohort",
    "a Japanese nationwide survey",
    "an Italian referral centre",
    "a German university hospital",
    "a North American series",
    "a population-based cohort",
    "an Australian institution",
]

# Title/abstract-excluded topics: (title templates, abstract background, weight). Slots are
# filled from SLOTS; {n} is a patient count.
TOPICS = [
    (
        [
            "Hepatic resection for colorectal liver metastases: {aspect} in {n} patients from {centre}",
            "{Aspect} after {liver_op} for colorectal cancer liver metastases",
            "Repeat {liver_op} for recurrent colorectal liver metastases: {aspect}",
            "Neoadjuvant {chemo} before resection of colorectal liver metastases: {aspect}",
        ],
        "Colorectal cancer liver metastases are the commonest indication for hepatectomy.",
        19,
    ),
    (
        [
            "{Aspect} of {liver_op} for hepatocellular carcinoma in cirrhotic patients",
            "Hepatocellular carcinoma treated by {ablation}: {aspect} in {n} patients",
            "Intrahepatic cholangiocarcinoma: {aspect} after {liver_op}",
            "Prognostic factors after {liver_op} for hepatocellular carcinoma: {centre}",
        ],
        "Hepatocellular carcinoma is a leading cause of cancer death worldwide.",
        14,
    ),
    (
        [
            "{Drug} in advanced {net_site} neuroendocrine tumours: {aspect}",
            "Long-acting {drug} for metastatic {net_site} neuroendocrine tumors: a phase {phase} study",
            "Peptide receptor radionuclide therapy with {isotope} in {n} patients with {net_site} neuroendocrine tumours",
            "Systemic {chemo} for metastatic neuroendocrine carcinoma of the {net_site}",
        ],
        "Medical treatment of advanced neuroendocrine tumours has evolved quickly.",
        14,
    ),
    (
        [
            "{Imaging} for staging of {net_site} neuroendocrine tumours: {aspect}",
            "Diagnostic accuracy of {imaging} in {n} patients with suspected neuroendocrine tumours",
            "Ki-67 index and {aspect} in {net_site} neuroendocrine neoplasms",
            "Chromogranin A as a marker of {aspect} in neuroendocrine tumours",
        ],
        "Accurate staging and grading guide the management of neuroendocrine neoplasms.",
        13,
    ),
    (
        [
            "{Net_site} neuroendocrine tumour presenting as {presentation}: a case report",
            "An unusual case of {presentation} in a patient with a {net_site} carcinoid",
            "{Presentation} caused by a metastatic neuroendocrine tumour: report of a case",
        ],
        "We report an unusual presentation of a neuroendocrine tumour.",
        8,
    ),
    (
        [
            "Management of {net_site} neuroendocrine tumours: {review_kind}",
            "Neuroendocrine liver metastases: {review_kind}",
            "Current concepts in the treatment of carcinoid syndrome: {review_kind}",
        ],
        "This review summarises current evidence.",
        9,
    ),
    (
        [
            "{Pancreas_op} for {pancreas_disease}: {aspect} in {n} patients",
            "{Aspect} after {pancreas_op} at {centre}",
            "Minimally invasive {pancreas_op}: {aspect}",
        ],
        "Pancreatic surgery carries substantial morbidity.",
        10,
    ),
    (
        [
            "{Model} of neuroendocrine tumour liver metastasis: role of {molecule}",
            "Expression of {molecule} in neuroendocrine tumour cell lines",
            "{Molecule} signalling and growth of carcinoid cells {in_model}",
        ],
        "The biology of neuroendocrine tumour progression is poorly understood.",
        6,
    ),
    (
        [
            "{Locoregional} for unresectable neuroendocrine liver metastases: {aspect} in {n} patients",
            "{Locoregional} versus {locoregional2} for hepatic carcinoid metastases: {aspect}",
            "Safety of {locoregional} in patients with neuroendocrine liver metastases and carcinoid syndrome",
        ],
        "Liver-directed therapies are used for unresectable neuroendocrine liver metastases.",
        7,
    ),
]

SLOTS = {
    "aspect": [
        "long-term outcomes",
        "perioperative morbidity",
        "quality of life",
        "prognostic factors",
        "cost-effectiveness",
        "recurrence patterns",
        "survival analysis",
        "predictors of response",
        "early results",
        "a propensity score analysis",
        "health-related quality of life",
        "complications and mortality",
        "tumour response",
        "oncological outcomes",
        "safety and efficacy",
        "ten-year experience",
        "patterns of care",
        "functional outcomes",
        "learning curve",
        "radiological response",
    ],
    "liver_op": [
        "major hepatectomy",
        "laparoscopic liver resection",
        "two-stage hepatectomy",
        "portal vein embolisation and hepatectomy",
        "anatomical resection",
        "parenchymal-sparing hepatectomy",
        "right hepatectomy",
        "associating liver partition and portal vein ligation",
    ],
    "chemo": [
        "oxaliplatin-based chemotherapy",
        "irinotecan-based chemotherapy",
        "capecitabine and temozolomide",
        "streptozocin and 5-fluorouracil",
        "cisplatin and etoposide",
        "bevacizumab-containing chemotherapy",
    ],
    "ablation": [
        "radiofrequency ablation",
        "microwave ablation",
        "percutaneous ethanol injection",
        "cryoablation",
        "irreversible electroporation",
    ],
    "drug": [
        "octreotide",
        "lanreotide",
        "everolimus",
        "sunitinib",
        "interferon alfa",
        "pasireotide",
        "temozolomide",
        "bevacizumab",
    ],
    "phase": ["II", "III", "I/II"],
    "isotope": ["177Lu-DOTATATE", "90Y-DOTATOC", "131I-MIBG", "177Lu-DOTATOC"],
    "net_site": [
        "pancreatic",
        "small intestinal",
        "midgut",
        "rectal",
        "gastric",
        "bronchial",
        "duodenal",
        "appendiceal",
        "foregut",
        "hindgut",
    ],
    "imaging": [
        "68Ga-DOTATATE PET/CT",
        "somatostatin receptor scintigraphy",
        "diffusion-weighted MRI",
        "contrast-enhanced ultrasound",
        "18F-FDG PET",
        "multiphase CT",
        "intraoperative ultrasound",
        "gadoxetic acid-enhanced MRI",
    ],
    "presentation": [
        "acute abdomen",
        "carcinoid heart disease",
        "hypoglycaemia",
        "obstructive jaundice",
        "gastrointestinal bleeding",
        "ovarian metastasis",
        "Cushing's syndrome",
        "bowel intussusception",
        "a cystic liver lesion",
        "spontaneous tumour rupture",
    ],
    "review_kind": [
        "a review",
        "an update",
        "a clinical review",
        "state of the art",
        "what is new?",
        "an overview",
        "a practical approach",
        "controversies and consensus",
    ],
    "pancreas_op": [
        "pancreaticoduodenectomy",
        "distal pancreatectomy",
        "total pancreatectomy",
        "enucleation",
        "central pancreatectomy",
    ],
    "pancreas_disease": [
        "pancreatic adenocarcinoma",
        "intraductal papillary mucinous neoplasm",
        "chronic pancreatitis",
        "periampullary cancer",
        "solid pseudopapillary neoplasm",
    ],
    "model": ["An orthotopic mouse model", "A xenograft model", "A rat model", "An in vitro model"],
    "molecule": [
        "mTOR",
        "VEGF",
        "somatostatin receptor 2",
        "E-cadherin",
        "HIF-1alpha",
        "IGF-1 receptor",
        "serotonin",
        "matrix metalloproteinase-9",
        "Notch1",
        "PI3K",
    ],
    "in_model": ["in vitro", "in nude mice", "in a rat model", "in three-dimensional culture"],
    "locoregional": [
        "Transarterial chemoembolisation",
        "Yttrium-90 radioembolisation",
        "Bland embolisation",
        "Hepatic arterial infusion",
        "Drug-eluting bead chemoembolisation",
        "Radiofrequency ablation",
    ],
    "locoregional2": ["bland embolisation", "radioembolisation", "chemoembolisation", "systemic therapy"],
    "centre": CENTRES,
}

RESULTS = [
    "Median overall survival was {m} months.",
    "Morbidity was {p}% and mortality {q}%.",
    "The response rate was {p}%.",
    "Five-year survival was {p}%.",
    "Median follow-up was {m} months.",
    "Recurrence occurred in {p}% of patients.",
    "Sensitivity was {p}% and specificity {s}%.",
]
CONCLUSIONS = [
    "These results support further prospective studies.",
    "This approach is safe and feasible.",
    "Careful patient selection is essential.",
    "Multidisciplinary management is recommended.",
    "Larger series are needed to confirm these findings.",
    "Outcomes compare favourably with the literature.",
]

# Records assessed in full text and excluded, by the reason in review.toml (the count per reason
# is the reconstruction's; the paper does not report it).
FULL_TEXT_EXCLUDED = {
    "Not neuroendocrine liver metastases": (
        12,
        [
            "Hepatectomy for non-colorectal non-neuroendocrine liver metastases: {aspect} in {n} patients",
            "Liver resection for gastrointestinal stromal tumour metastases: {aspect}",
            "Hepatic resection for breast cancer liver metastases at {centre}",
        ],
    ),
    "No hepatic resection or liver-directed treatment": (
        9,
        [
            "Outcome of patients with metastatic neuroendocrine tumours treated with somatostatin analogues alone at {centre}",
            "Natural history of untreated neuroendocrine liver metastases: {aspect}",
        ],
    ),
    "Overall survival not reported": (
        24,
        [
            "Perioperative outcomes of hepatic resection for neuroendocrine liver metastases: {aspect} in {n} patients",
            "Symptom control after cytoreductive hepatectomy for carcinoid syndrome at {centre}",
            "Laparoscopic resection of neuroendocrine liver metastases: {aspect}",
            "Hormonal response after liver debulking for functioning neuroendocrine tumours in {n} patients",
        ],
    ),
    "Liver transplantation only": (
        8,
        [
            "Liver transplantation for unresectable neuroendocrine liver metastases: {aspect} in {n} patients",
            "Orthotopic liver transplantation for metastatic carcinoid: experience of {centre}",
        ],
    ),
    "Review, editorial or letter": (
        11,
        [
            "Surgical treatment of neuroendocrine liver metastases: {review_kind}",
            "Is there a role for hepatectomy in metastatic neuroendocrine tumours? {review_kind}",
            "Debulking of neuroendocrine liver metastases: {review_kind}",
        ],
    ),
    "Case report": (
        6,
        [
            "Extended hepatectomy for a giant neuroendocrine liver metastasis presenting as {presentation}: a case report",
            "Synchronous resection of a {net_site} neuroendocrine tumour and liver metastases in an elderly patient: case report",
        ],
    ),
    "Duplicate or overlapping cohort": (
        4,
        [
            "Hepatic resection for neuroendocrine liver metastases: updated results of {centre}",
            "Long-term survival after resection of neuroendocrine liver metastases: an update of {n} patients",
        ],
    ),
}
NOT_RETRIEVED = [
    "Chirurgische Therapie von Lebermetastasen neuroendokriner Tumoren: {aspect}",
    "Hepatic resection for metastatic carcinoid: {aspect} (conference abstract)",
    "Resection of liver metastases from endocrine tumours in {n} patients: {aspect}",
    "Aggressive surgical approach to neuroendocrine liver metastases: {aspect}",
]
OTHER_METHODS_EXCLUDED = {
    "Overall survival not reported": (
        3,
        [
            "Cytoreductive hepatic surgery for neuroendocrine metastases: {aspect} in {n} patients",
        ],
    ),
    "Review, editorial or letter": (2, ["Surgical approach to endocrine liver metastases: {review_kind}"]),
}
