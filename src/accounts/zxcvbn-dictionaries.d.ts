// The single dictionary files of @zxcvbn-ts/language-en and -common (their package index imports
// every list, including the surname and Wikipedia lists the estimator does not use: 380 KiB of
// the gzipped bundle). Each file's default export is its list (or, for wordSequences, its lists).
declare module "@zxcvbn-ts/language-en/dist/*.json.mjs" {
  const list: string[] & Record<string, string[]>;
  export default list;
}
declare module "@zxcvbn-ts/language-common/dist/*.json.mjs" {
  const list: string[];
  export default list;
}
