/** A model's session contract was not met; `message` is one phrase for a user. */
export class ModelInvalidError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelInvalidError';
  }
}
