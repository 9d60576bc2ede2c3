/** The room page's person: the cookie holding the agentToken of someone who joined from the page, path-scoped to the room's page. */
export const PERSON_COOKIE = 'convene_person'
