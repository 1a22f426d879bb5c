// Cross-script name skeletons for duplicate detection. The same person reaches
// two teams as Иванов, Ivanov, İvanov or Iwanow: each spelling is reduced to
// one Latin skeleton, whose tokens are then blind-indexed (never stored).
//
// Step 1 transliterates Cyrillic by ICAO Doc 9303 (the table of machine-readable
// passports: ж zh, х kh, ц ts, щ shch, ю iu, я ia), with the Kazakh, Kyrgyz,
// Ukrainian, Belarusian and Serbian letters, plus Armenian and Georgian by
// their national romanisations. Diacritics go with NFKD (Turkish ş ç ğ ö ü,
// Serbian ć đ, й → и, ё → е; Slavic š ž č are sh zh ch as in Cyrillic).
// Step 2 folds the spellings that differ between romanisation habits (German
// and Polish w, sch/sz/cz, j/y/i, yo/io, x/ks, c/tz/ts, doubled letters), so
// Пётр, Petr, Pyotr and Piotr meet. Both sides go through the same folding: a
// looser skeleton only costs precision, which the score shows.

const CYRILLIC: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ж: 'zh',
  з: 'z',
  и: 'i',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'kh',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'shch',
  ъ: 'ie',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'iu',
  я: 'ia',
  // Kazakh and Kyrgyz
  ә: 'a',
  ғ: 'g',
  қ: 'k',
  ң: 'n',
  ө: 'o',
  ұ: 'u',
  ү: 'u',
  һ: 'h',
  і: 'i',
  // Ukrainian and Belarusian (ї, ў, й decompose under NFKD)
  є: 'ie',
  ґ: 'g',
  // Serbian and Macedonian
  ђ: 'dj',
  ј: 'j',
  љ: 'lj',
  њ: 'nj',
  ћ: 'c',
  џ: 'dz',
  ѓ: 'gj',
  ќ: 'kj',
  ѕ: 'dz',
};

const ARMENIAN: Record<string, string> = {
  ա: 'a',
  բ: 'b',
  գ: 'g',
  դ: 'd',
  ե: 'e',
  զ: 'z',
  է: 'e',
  ը: 'y',
  թ: 't',
  ժ: 'zh',
  ի: 'i',
  լ: 'l',
  խ: 'kh',
  ծ: 'ts',
  կ: 'k',
  հ: 'h',
  ձ: 'dz',
  ղ: 'gh',
  ճ: 'ch',
  մ: 'm',
  յ: 'y',
  ն: 'n',
  շ: 'sh',
  ո: 'o',
  չ: 'ch',
  պ: 'p',
  ջ: 'j',
  ռ: 'r',
  ս: 's',
  վ: 'v',
  տ: 't',
  ր: 'r',
  ց: 'ts',
  ւ: 'v',
  փ: 'p',
  ք: 'k',
  օ: 'o',
  ֆ: 'f',
  և: 'ev',
};

const GEORGIAN: Record<string, string> = {
  ა: 'a',
  ბ: 'b',
  გ: 'g',
  დ: 'd',
  ე: 'e',
  ვ: 'v',
  ზ: 'z',
  თ: 't',
  ი: 'i',
  კ: 'k',
  ლ: 'l',
  მ: 'm',
  ნ: 'n',
  ო: 'o',
  პ: 'p',
  ჟ: 'zh',
  რ: 'r',
  ს: 's',
  ტ: 't',
  უ: 'u',
  ფ: 'p',
  ქ: 'k',
  ღ: 'gh',
  ყ: 'q',
  შ: 'sh',
  ჩ: 'ch',
  ც: 'ts',
  ძ: 'dz',
  წ: 'ts',
  ჭ: 'ch',
  ხ: 'kh',
  ჯ: 'j',
  ჰ: 'h',
};

/** Latin letters that NFKD does not decompose. */
const LATIN_EXTRA: Record<string, string> = { ı: 'i', ł: 'l', ø: 'o', đ: 'dj', ß: 'ss', æ: 'ae', œ: 'oe' };

const TABLE: Record<string, string> = { ...CYRILLIC, ...ARMENIAN, ...GEORGIAN, ...LATIN_EXTRA };

/** Any supported script to lower-case Latin (ICAO 9303 for Cyrillic); other characters kept. */
export function toLatin(text: string): string {
  const lower = text
    .toLowerCase()
    // Slavic Latin carons are the Cyrillic ш ж ч (Serbian, Croatian, Czech); NFKD would drop the h.
    .replace(/[šž]/g, (ch) => (ch === 'š' ? 'sh' : 'zh'))
    .replace(/č/g, 'ch')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    // Armenian "ու" is one vowel, u.
    .replace(/ու/g, 'u');
  let out = '';
  for (const ch of lower) out += TABLE[ch] ?? ch;
  return out;
}

/** Folds one Latin token to its skeleton (see the top of this file). */
function foldToken(t: string): string {
  return (
    t
      .replace(/tsch/g, 'ch')
      .replace(/sch/g, 'sh')
      .replace(/szcz/g, 'shch')
      .replace(/sz/g, 'sh')
      .replace(/cz/g, 'ch')
      .replace(/ph/g, 'f')
      .replace(/x/g, 'ks')
      .replace(/q/g, 'k')
      .replace(/w/g, 'v')
      .replace(/tz/g, 'ts')
      // A lone c (not ch) is ts in Slavic romanisations (Polish, Serbian, Croatian).
      .replace(/c(?!h)/g, 'ts')
      .replace(/kh/g, 'h')
      .replace(/[jy]/g, 'i')
      // ё/yo/io and е/ye/ie: Pyotr = Petr, Yevgeny = Evgeny.
      .replace(/io/g, 'e')
      .replace(/ie/g, 'e')
      .replace(/(.)\1+/g, '$1')
  );
}

/** The skeleton tokens of a name, sorted (word order does not matter), without duplicates. */
export function nameSkeletonTokens(name: string): string[] {
  const tokens = toLatin(name)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean)
    .map(foldToken)
    .filter((t) => t.length > 0);
  return [...new Set(tokens)].sort();
}

/** The whole-name skeleton: the sorted tokens joined by a space. */
export function nameSkeleton(name: string): string {
  return nameSkeletonTokens(name).join(' ');
}
