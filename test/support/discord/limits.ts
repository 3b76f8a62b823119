// Discord's documented message limits, in one place.
export const LIMITS = {
  contentLength: 2000,
  actionRows: 5,
  componentsPerRow: 5,
  customIdLength: 100,
  buttonLabelLength: 80,
  embeds: 10,
  attachments: 10,
  selectOptions: 25,
  embedTotal: 6000,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  embedAuthor: 256,
} as const;

/** Records one broken rule: Discord's field error, and the violation text for the test. */
export type Fail = (path: string, code: string, message: string, violation: string) => void;
