/**
 * Sectors, company names and NSE symbols for the demo market: plausible
 * Indian listed-company names ("SHREE GANESH SPINNING MILLS LTD") drawn from
 * word lists, made unique across the market, with symbols derived from them.
 */
import type { Rng } from './random.js';

export interface SectorDef {
  name: string;
  /** Share of listed companies (relative weight). */
  weight: number;
  /** Words that end a company name in this sector, before "LTD". */
  words: readonly string[];
  /** Typical net profit margin. */
  margin: number;
  /** Typical price / quarterly-sales multiple (market cap ÷ one quarter's revenue). */
  capToQuarterSales: number;
}

export const SECTORS: readonly SectorDef[] = [
  { name: 'Banks', weight: 2, words: ['BANK', 'CO-OPERATIVE BANK', 'SMALL FINANCE BANK'], margin: 0.16, capToQuarterSales: 6 },
  { name: 'Financial Services', weight: 9, words: ['FINANCE', 'FINVEST', 'CAPITAL', 'LEASING & FINANCE', 'HOLDINGS', 'CREDIT'], margin: 0.2, capToQuarterSales: 10 },
  { name: 'Information Technology', weight: 7, words: ['INFOTECH', 'SOFTWARE', 'TECHNOLOGIES', 'INFOSYSTEMS', 'SYSTEMS', 'DIGITAL'], margin: 0.12, capToQuarterSales: 12 },
  { name: 'Pharmaceuticals', weight: 6, words: ['PHARMACEUTICALS', 'PHARMA', 'LABORATORIES', 'LIFESCIENCES', 'DRUGS', 'REMEDIES'], margin: 0.1, capToQuarterSales: 10 },
  { name: 'FMCG', weight: 4, words: ['CONSUMER PRODUCTS', 'FOODS', 'AGRO PRODUCTS', 'BEVERAGES', 'PERSONAL CARE'], margin: 0.09, capToQuarterSales: 14 },
  { name: 'Automobiles', weight: 2, words: ['MOTORS', 'AUTOMOBILES', 'TRACTORS', 'VEHICLES'], margin: 0.07, capToQuarterSales: 7 },
  { name: 'Auto Components', weight: 5, words: ['AUTO COMPONENTS', 'AUTO PARTS', 'FORGINGS', 'CASTINGS', 'GEARS', 'BEARINGS'], margin: 0.07, capToQuarterSales: 5 },
  { name: 'Capital Goods', weight: 7, words: ['ENGINEERING', 'MACHINERY', 'EQUIPMENTS', 'ELECTRICALS', 'PUMPS', 'TOOLS'], margin: 0.08, capToQuarterSales: 7 },
  { name: 'Chemicals', weight: 7, words: ['CHEMICALS', 'ORGANICS', 'PETROCHEM', 'DYES & INTERMEDIATES', 'FERTILISERS', 'ALKALIES'], margin: 0.09, capToQuarterSales: 7 },
  { name: 'Metals & Mining', weight: 5, words: ['STEELS', 'ISPAT', 'ALLOYS', 'METALS', 'MINERALS', 'WIRES'], margin: 0.06, capToQuarterSales: 3 },
  { name: 'Oil & Gas', weight: 2, words: ['PETROLEUM', 'OIL & GAS', 'GAS', 'LUBRICANTS'], margin: 0.06, capToQuarterSales: 3 },
  { name: 'Power', weight: 3, words: ['POWER', 'ENERGY', 'POWER PROJECTS', 'RENEWABLES'], margin: 0.11, capToQuarterSales: 8 },
  { name: 'Cement & Building Materials', weight: 3, words: ['CEMENTS', 'CERAMICS', 'TILES', 'PIPES', 'GRANITES'], margin: 0.08, capToQuarterSales: 6 },
  { name: 'Realty', weight: 4, words: ['DEVELOPERS', 'BUILDCON', 'REALTY', 'ESTATES', 'HOUSING', 'INFRAPROJECTS'], margin: 0.12, capToQuarterSales: 9 },
  { name: 'Textiles', weight: 8, words: ['TEXTILES', 'SPINNING MILLS', 'SYNTEX', 'FABRICS', 'COTSPIN', 'EXPORTS'], margin: 0.04, capToQuarterSales: 2 },
  { name: 'Telecom & Media', weight: 3, words: ['MEDIA', 'ENTERTAINMENT', 'BROADCASTING', 'TELELINKS', 'COMMUNICATIONS'], margin: 0.05, capToQuarterSales: 6 },
  { name: 'Healthcare Services', weight: 2, words: ['HOSPITALS', 'HEALTHCARE', 'DIAGNOSTICS', 'MEDICARE'], margin: 0.09, capToQuarterSales: 11 },
  { name: 'Infrastructure', weight: 5, words: ['INFRASTRUCTURE', 'CONSTRUCTIONS', 'PROJECTS', 'INFRA', 'BUILDERS'], margin: 0.06, capToQuarterSales: 4 },
  { name: 'Consumer Durables', weight: 4, words: ['APPLIANCES', 'ELECTRONICS', 'HOME PRODUCTS', 'PLAST', 'FURNITURE'], margin: 0.06, capToQuarterSales: 8 },
  { name: 'Logistics & Trading', weight: 7, words: ['LOGISTICS', 'SHIPPING', 'TRADING', 'OVERSEAS', 'COMMERCIAL', 'VENTURES'], margin: 0.04, capToQuarterSales: 3 },
];

const SECTOR_WEIGHTS = SECTORS.map((s) => s.weight);

export function pickSector(rng: Rng): number {
  return rng.weighted(SECTOR_WEIGHTS);
}

const PREFIXES = ['SHREE', 'SRI', 'NEW', 'UNITED', 'WESTERN', 'EASTERN', 'SOUTHERN', 'NORTHERN', 'NATIONAL', 'GLOBAL', 'PRIME', 'ROYAL'] as const;

const ROOTS = [
  'AARTI', 'ABHINAV', 'ADITYA', 'AGARWAL', 'AJANTA', 'AKSHAR', 'ALOK', 'AMAR', 'AMBIKA', 'ANAND', 'ANJANI', 'APEX',
  'ARIHANT', 'ARVIND', 'ASHAPURA', 'ASHIANA', 'AVANTI', 'BALAJI', 'BANSAL', 'BHAGWATI', 'BHARAT', 'BHATIA', 'BIRLA',
  'CENTURY', 'CHAMBAL', 'CHEMBUR', 'DECCAN', 'DHANLAXMI', 'DHRUV', 'DWARKA', 'EVEREST', 'GAGAN', 'GANESH', 'GANGA',
  'GARNET', 'GAYATRI', 'GODAVARI', 'GOKUL', 'GUJARAT', 'HARI', 'HIMALAYA', 'HIND', 'INDO', 'INDRAPRASTHA', 'JAGDAMBA',
  'JAI', 'JAIN', 'JAMNA', 'JYOTI', 'KAILASH', 'KAMDHENU', 'KANCHAN', 'KAVERI', 'KESAR', 'KHANDELWAL', 'KIRAN', 'KONARK',
  'KRISHNA', 'KUSUM', 'LAKSHMI', 'MADHUR', 'MAGADH', 'MAHALAXMI', 'MAHAVIR', 'MALWA', 'MANGALAM', 'MARUTI', 'MEGHNA',
  'MOHAN', 'MUKUND', 'NARMADA', 'NAVBHARAT', 'NILKANTH', 'OMKAR', 'ORIENT', 'PADMAVATI', 'PANCHSHEEL', 'PARAS', 'PAVAN',
  'PRAGATI', 'PRAKASH', 'PREMIER', 'PUNJAB', 'RADHA', 'RAJSHREE', 'RAMA', 'RATNA', 'RAVI', 'REKHA', 'ROHIT', 'SABARI',
  'SAGAR', 'SAHYADRI', 'SAMRAT', 'SANGAM', 'SARASWATI', 'SATYAM', 'SHAKTI', 'SHIVA', 'SHUBH', 'SIDDHI', 'SONAL', 'SUMEET',
  'SUNDARAM', 'SURYA', 'SWASTIK', 'TAPTI', 'TIRUPATI', 'TRIVENI', 'UDAY', 'UMA', 'UTKAL', 'VARDHMAN', 'VASUNDHARA',
  'VIJAY', 'VIKAS', 'VINDHYA', 'VISHNU', 'YAMUNA', 'YASH', 'ZENITH',
] as const;

const SECOND_WORDS = ['INDIA', 'INTERNATIONAL', 'GLOBAL', 'STAR', 'CROWN', 'SUPREME', 'UNIVERSAL', 'CONTINENTAL', 'MODERN', 'VALLEY'] as const;

const GENERIC_WORDS = ['INDUSTRIES', 'ENTERPRISES', 'CORPORATION', 'UDYOG'] as const;

const ENDINGS = ['LTD', 'LTD', 'LTD', 'LTD', 'LIMITED', '(INDIA) LTD'] as const;

export interface NameParts {
  name: string;
  root: string;
  word: string;
}

/** A company name for a sector, e.g. "SHREE GANESH SPINNING MILLS LTD". */
export function companyName(rng: Rng, sector: SectorDef): NameParts {
  const parts: string[] = [];
  if (rng.chance(0.18)) parts.push(rng.pick(PREFIXES));
  const root = rng.pick(ROOTS);
  parts.push(root);
  if (rng.chance(0.22)) parts.push(rng.pick(SECOND_WORDS));
  const word = rng.chance(0.2) ? rng.pick(GENERIC_WORDS) : rng.pick(sector.words);
  parts.push(word);
  let ending: string = rng.pick(ENDINGS);
  if (ending === '(INDIA) LTD' && parts.includes('INDIA')) ending = 'LTD';
  parts.push(ending);
  return { name: parts.join(' '), root, word };
}

/** Symbol candidates for a name, best first: uppercase letters only, at most 10 characters. */
export function symbolCandidates(p: NameParts): string[] {
  const letters = (s: string): string => s.replace(/[^A-Z]/g, '');
  const root = letters(p.root);
  const word = letters(p.word);
  const words = p.name.split(' ').filter((w) => w !== 'LTD' && w !== 'LIMITED' && w !== '(INDIA)');
  const initials = words.map((w) => letters(w).charAt(0)).join('');
  const out = [
    (root + word.slice(0, 4)).slice(0, 10),
    (root + word).slice(0, 10),
    root.slice(0, 10),
    (root.slice(0, 6) + initials).slice(0, 10),
    (initials + word.slice(0, 5)).slice(0, 10),
    (root + word.slice(0, 3) + 'IND').slice(0, 10),
  ];
  return [...new Set(out.filter((s) => s.length >= 3))];
}
